"""The page's "files and commands" box: relative links to what sits beside it in the run
directory, and the commands that replay or re-check the run, as text to copy.

Links are relative (``logs/worker-1.log``, never an absolute path or a URL), so the run directory
can be zipped, attached to a CI job or moved, and the page still opens its files.
"""

from __future__ import annotations

import html
import shlex
from pathlib import Path
from urllib.parse import quote

#: The run directory's own files, in the order the box lists them, with what each one is.
RUN_FILES = (
    ("scenario.yaml", "the scenario as run"),
    ("journal.jsonl", "every event, one JSON line each"),
    ("report.json", "verdicts and summary, for machines"),
    ("timeline.png", "the timeline picture"),
    ("timeline.svg", "the picture as SVG"),
    ("timeline.json", "the resolved timeline (seed, fault times)"),
    ("workload.log", "the workload process's log"),
)
MAX_LOGS = 40


def file_links(run_dir: Path) -> list[tuple[str, str]]:
    """(relative href, description) for each file present, then each log under ``logs/``."""
    links = [(name, what) for name, what in RUN_FILES if (run_dir / name).is_file()]
    logs = run_dir / "logs"
    if logs.is_dir():
        found = sorted(p for p in logs.rglob("*") if p.is_file())
        links.append(("logs/", "the folder of every process's log"))
        for path in found[:MAX_LOGS]:
            links.append((path.relative_to(run_dir).as_posix(), "log"))
        if len(found) > MAX_LOGS:
            links.append(("logs/", f"{len(found) - MAX_LOGS} more logs in the folder"))
    return links


def commands(run_dir: Path) -> list[tuple[str, str]]:
    """(command, what it does) for this run directory."""
    where = shlex.quote(str(run_dir))
    return [
        (f"chaos replay {where}", "run the same scenario, seed and timeline again; compare"),
        (f"chaos check {where}", "judge the recorded journal again, offline"),
        (f"chaos report {where}", "write this page again"),
        ("chaos check .", "the same, from inside this folder (after unzipping it elsewhere)"),
    ]


def render_links(run_dir: Path) -> str:
    items = [f'<li><a href="{html.escape(quote(href))}">{html.escape(href)}</a> '
             f'<span class="what">{html.escape(what)}</span></li>'
             for href, what in file_links(run_dir)]  # fmt: skip
    cmds = [f'<li><code class="cmd">{html.escape(cmd)}</code> '
            f'<span class="what">{html.escape(what)}</span></li>'
            for cmd, what in commands(run_dir)]  # fmt: skip
    return ('<div class="files"><div><h2>files</h2><ul>' + "".join(items) + "</ul></div>"
            '<div><h2>commands</h2><ul>' + "".join(cmds) + "</ul></div></div>")  # fmt: skip
