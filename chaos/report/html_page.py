"""``report.html``: one self-contained page per run, to explore: the verdicts (with the windows
and margins each judged), the run's facts, links to its files, the commands to replay or
re-check it, and a timeline whose task rows open on their attempts.

Self-contained means no network: the CSS is inline, the timeline is HTML drawn here (no
picture, no script), and the only links are relative ones to the files beside it in the run
directory, so the folder can be zipped and attached to a CI run as it is.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

from chaos.checks.verdict import Verdict
from chaos.history import RunHistory
from chaos.report.expected_notes import notes
from chaos.report.html_timeline import render_timeline, run_end
from chaos.report.run_links import render_links
from chaos.timebase import format_seconds

HTML_FILE = "report.html"

_STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px;
       color: #212121; max-width: 1400px; }
h1 { font-size: 20px; margin: 0 0 4px; }
.sub { color: #616161; margin-bottom: 16px; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 10px; font-weight: 600;
         color: white; }
.ok { background: #2e7d32; } .failed { background: #c62828; } .known { background: #ef6c00; }
table { border-collapse: collapse; width: 100%; margin: 12px 0 24px; }
th, td { border: 1px solid #e0e0e0; padding: 6px 8px; text-align: left; vertical-align: top; }
th { background: #fafafa; }
tr.failed td { background: #ffebee; }
td.status { font-weight: 700; white-space: nowrap; }
tr.failed td.status { color: #c62828; } tr.held td.status { color: #2e7d32; }
tr.known td { background: #fff3e0; } tr.known td.status { color: #ef6c00; }
.why { color: #e65100; font-size: 12px; }
td.faults { color: #6a1b9a; font-size: 12px; }
dl { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; margin: 0 0 16px; }
dt { color: #616161; } dd { margin: 0; font-family: ui-monospace, monospace; }
.note { color: #455a64; font-size: 12px; margin-top: 3px; }
h2 { font-size: 15px; margin: 16px 0 6px; }
.files { display: flex; flex-wrap: wrap; gap: 8px 48px; }
.files ul { margin: 0; padding-left: 18px; } .what { color: #757575; font-size: 12px; }
code.cmd { user-select: all; background: #f5f5f5; padding: 1px 4px; border-radius: 3px; }
"""


def _verdict_rows(verdicts: Sequence[Verdict], history: RunHistory) -> str:
    rows = []
    for verdict in verdicts:
        css = {"held": "held", "KNOWN BROKEN": "known"}.get(verdict.status, "failed")
        why = verdict.known_broken if verdict.status == "KNOWN BROKEN" else None
        faults = "; ".join(w.describe() for w in verdict.fault_windows[:3])
        expected = html.escape(verdict.expected) + "".join(
            f'<div class="note">{html.escape(line)}</div>' for line in notes(history, verdict)
        )
        rows.append(
            f'<tr class="{css}"><td>{html.escape(verdict.name)}</td>'
            f'<td class="status">{html.escape(verdict.status)}</td>'
            f"<td>{expected}</td><td>{html.escape(verdict.observed)}</td>"
            f"<td>{html.escape(verdict.message)}"
            + (f'<div class="why">known broken: {html.escape(why)}</div>' if why else "")
            + (f'<div class="faults">faults around it: {html.escape(faults)}</div>' if faults else "")
            + _task_links(verdict, history)
            + "</td></tr>"
        )
    return "\n".join(rows)


#: A verdict's tasks linked to their timeline rows, at most this many.
LINKED_TASKS = 8


def _task_links(verdict: Verdict, history: RunHistory) -> str:
    """Links to the timeline rows of the tasks a verdict names (the row opens on a click)."""
    links = [f'<a href="#t-{html.escape(task_id)}">{html.escape(history.tasks[task_id].label)}</a>'
             for task_id in verdict.tasks[:LINKED_TASKS] if task_id in history.tasks]  # fmt: skip
    if not links:
        return ""
    more = len(verdict.tasks) - LINKED_TASKS
    return ('<div class="note">tasks: ' + ", ".join(links)
            + (f" and {more} more (filter: only tasks a verdict names)" if more > 0 else "")
            + "</div>")  # fmt: skip


def _facts(history: RunHistory, source: str) -> str:
    meta = history.meta
    from chaos.report.json_report import task_outcome

    outcomes: dict[str, int] = {}
    for task in history.tasks.values():
        outcome = task_outcome(task)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    facts = [
        ("run", meta.run_id or "?"),
        ("scenario", meta.scenario or "?"),
        ("seed", "?" if meta.seed is None else str(meta.seed)),
        ("backend", meta.backend or "?"),
        ("clock", meta.clock_label or "real time"),
        ("duration", format_seconds(meta.finished_at or history.end_at)),
        ("times", "seconds since the run started (its run.started event), in every output"),
        ("tasks", f"{len(history.tasks)} ("
                  + ", ".join(f"{n} {k}" for k, n in sorted(outcomes.items())) + ")"),
        ("publishes refused", str(sum(1 for e in history.producer_events
                                      if e.kind == "enqueue.refused"))
         + " in all (a check counts only those inside its windows: see its expected)"),  # fmt: skip
        ("faults", "; ".join(w.describe() for w in history.fault_windows) or "none"),
        ("verdicts from", source),
    ]
    return "\n".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in facts)


def render_html(history: RunHistory, verdicts: Sequence[Verdict], run_dir: Path,
                source: str = "report.json") -> str:
    """The page as a string."""
    ok = all(v.ok for v in verdicts)
    known = sum(1 for v in verdicts if v.status == "KNOWN BROKEN")
    held = sum(1 for v in verdicts if v.ok) - known
    title = history.meta.scenario or history.meta.run_id or "chaos run"
    if not ok:
        badge = '<span class="badge failed">FAILED</span>'
    elif known:
        badge = f'<span class="badge known">KNOWN BROKEN ({known})</span>'
    else:
        badge = '<span class="badge ok">held</span>'
    known_note = f", {known} known broken (as the scenario says)" if known else ""
    timeline, timeline_style = render_timeline(history, verdicts)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)}: chaos report</title>
<style>{_STYLE}{timeline_style}</style></head>
<body>
<h1>{html.escape(title)} {badge}</h1>
<div class="sub">{held} of {len(verdicts)} expectations held{known_note}</div>
<dl>
{_facts(history, source)}
</dl>
{render_links(run_dir)}
<h2>verdicts</h2>
<table>
<thead><tr><th>check</th><th>verdict</th><th>expected</th><th>observed</th><th>message</th></tr></thead>
<tbody>
{_verdict_rows(verdicts, history)}
</tbody></table>
<h2 id="timeline">timeline ({len(history.tasks)} tasks, {format_seconds(run_end(history))})</h2>
<section class="timeline">
{timeline}
</section>
</body></html>
"""


def write_html(
    run_dir: Path | str,
    history: RunHistory | None = None,
    verdicts: Sequence[Verdict] | None = None,
    *,
    picture: bool = False,
) -> Path:
    """Write ``RUN_DIR/report.html``; returns the page's path. ``picture``: draw timeline.png and
    timeline.svg first (the page links them; drawing costs seconds, mostly importing matplotlib).

    Verdicts default to those in ``report.json``; a run without one is judged by the default
    checks, and the page says so.
    """
    from chaos.report.json_report import REPORT_FILE, list_report_files, read_verdicts

    run_dir = Path(run_dir)
    if history is None:
        from chaos.history import load_history

        history = load_history(run_dir)
    source = REPORT_FILE
    if verdicts is None:
        if (run_dir / REPORT_FILE).is_file():
            verdicts = read_verdicts(run_dir)
        else:
            from chaos.checks import DEFAULT_EXPECTATIONS, run_checks

            verdicts = run_checks(history, DEFAULT_EXPECTATIONS)
            source = "the default checks (no report.json in the run directory)"
    if picture:
        from chaos.report.timeline import write_timeline

        write_timeline(run_dir, history, verdicts)
    path = run_dir / HTML_FILE
    path.write_text(render_html(history, verdicts, run_dir, source), encoding="utf-8")
    list_report_files(run_dir)
    return path
