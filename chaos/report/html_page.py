"""``report.html``: one self-contained page per run (verdict table, run facts, the timeline inline).

Self-contained means no network and no sibling files: the CSS is inline and the picture is the SVG
itself embedded in the page, so the file can be attached to a CI run or mailed as it is.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import Path

from chaos.checks.verdict import Verdict
from chaos.history import RunHistory, format_seconds

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
figure { margin: 0; overflow-x: auto; border: 1px solid #eeeeee; }
figure svg { width: 100%; height: auto; }
"""


def _verdict_rows(verdicts: Sequence[Verdict]) -> str:
    rows = []
    for verdict in verdicts:
        css = {"held": "held", "KNOWN BROKEN": "known"}.get(verdict.status, "failed")
        why = verdict.known_broken if verdict.status == "KNOWN BROKEN" else None
        faults = "; ".join(w.describe() for w in verdict.fault_windows[:3])
        rows.append(
            f'<tr class="{css}"><td>{html.escape(verdict.name)}</td>'
            f'<td class="status">{html.escape(verdict.status)}</td>'
            f"<td>{html.escape(verdict.expected)}</td><td>{html.escape(verdict.observed)}</td>"
            f"<td>{html.escape(verdict.message)}"
            + (f'<div class="why">known broken: {html.escape(why)}</div>' if why else "")
            + (f'<div class="faults">faults around it: {html.escape(faults)}</div>' if faults else "")
            + "</td></tr>"
        )
    return "\n".join(rows)


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
        ("tasks", f"{len(history.tasks)} ("
                  + ", ".join(f"{n} {k}" for k, n in sorted(outcomes.items())) + ")"),
        ("faults", "; ".join(w.describe() for w in history.fault_windows) or "none"),
        ("verdicts from", source),
    ]
    return "\n".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in facts)


def _inline_svg(svg_path: Path) -> str:
    """The SVG document without its XML prologue and doctype, ready to sit inside HTML."""
    text = svg_path.read_text()
    start = text.find("<svg")
    text = text[start:] if start >= 0 else text
    # The RDF metadata block only names matplotlib and licences; the page does not need it.
    return re.sub(r"<metadata>.*?</metadata>", "", text, count=1, flags=re.DOTALL)


def render_html(history: RunHistory, verdicts: Sequence[Verdict], svg_markup: str,
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
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)}: chaos report</title>
<style>{_STYLE}</style></head>
<body>
<h1>{html.escape(title)} {badge}</h1>
<div class="sub">{held} of {len(verdicts)} expectations held{known_note}</div>
<dl>
{_facts(history, source)}
</dl>
<table>
<thead><tr><th>check</th><th>verdict</th><th>expected</th><th>observed</th><th>message</th></tr></thead>
<tbody>
{_verdict_rows(verdicts)}
</tbody></table>
<figure>
{svg_markup}
</figure>
</body></html>
"""


def write_html(
    run_dir: Path | str,
    history: RunHistory | None = None,
    verdicts: Sequence[Verdict] | None = None,
) -> Path:
    """Write ``RUN_DIR/report.html`` (and the timeline it embeds); returns the page's path.

    Verdicts default to those in ``report.json``; a run without one is judged by the default
    checks, and the page says so.
    """
    from chaos.report.json_report import REPORT_FILE, read_verdicts
    from chaos.report.timeline import write_timeline

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
    paths = write_timeline(run_dir, history, verdicts)
    page = render_html(history, verdicts, _inline_svg(paths.svg), source)
    path = run_dir / HTML_FILE
    path.write_text(page)
    from chaos.report.json_report import list_report_files

    list_report_files(run_dir)
    return path
