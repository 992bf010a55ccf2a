"""The HTML page's timeline: one row per task, each row a ``<details>`` that opens on its attempts.

Plain HTML and CSS, no script and no picture: marks are spans placed in percent of the run, so a
zoom is only a wider canvas (radio buttons set ``--zoom``) and a filter by outcome only hides rows
(checkboxes before the timeline, ``:checked ~`` selectors). It works where inline scripts are
blocked (CI artifact viewers' content security policies) and stays light at thousands of tasks.
Every mark has a ``title=`` tooltip; an attempt whose worker was killed ends at the kill.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

from chaos.checks.verdict import Verdict
from chaos.history import Attempt, EnqueueEvent, FaultWindow, RunHistory, TaskHistory
from chaos.report.attempt_ends import attempt_end
from chaos.timebase import format_seconds

ZOOMS = (1, 2, 4, 8, 16, 32)
#: Outcome classes in the order the filter lists them.
OUTCOMES = ("success", "retry", "failure", "refused", "never executed", "killed", "unfinished",
            "revoked", "rejected")  # fmt: skip

STYLE = """
.tl-controls { margin: 8px 0; display: flex; flex-wrap: wrap; gap: 6px 14px; align-items: center; }
.tl-controls label { cursor: pointer; padding: 1px 8px; border-radius: 9px; border: 1px solid #bbb;
  user-select: none; font-size: 12px; }
input.tl-toggle { position: absolute; opacity: 0; pointer-events: none; }
.tl { max-height: 78vh; overflow: auto; border: 1px solid #e0e0e0; position: relative; --lw: 260px; }
.canvas { position: relative; min-width: 100%; --zoom: 1;
  width: calc(var(--lw) + (100% - var(--lw)) * var(--zoom)); }
.axis { position: sticky; top: 0; z-index: 3; display: flex; background: #fafafa;
  border-bottom: 1px solid #ddd; height: 20px; }
.lab { position: sticky; left: 0; z-index: 2; flex: 0 0 var(--lw); width: var(--lw);
  overflow: hidden; text-overflow: ellipsis; white-space: nowrap; background: #fff;
  font: 11px/16px ui-monospace, monospace; padding-left: 4px; box-sizing: border-box; }
.axis .lab { background: #fafafa; font-family: inherit; color: #616161; }
.trk { position: relative; flex: 1 1 auto; height: 16px; }
.tick { position: absolute; top: 0; height: 20px; border-left: 1px solid #ccc; font-size: 10px;
  padding-left: 2px; color: #616161; white-space: nowrap; }
.tick.minor { display: none; color: #9e9e9e; border-left-color: #e6e6e6; }
.bands { position: absolute; top: 0; bottom: 0; left: var(--lw); right: 0; pointer-events: none; }
.band { position: absolute; top: 0; bottom: 0; opacity: .10; }
.row > summary { display: flex; list-style: none; cursor: pointer; }
.row > summary::-webkit-details-marker { display: none; }
.row > summary:hover, .row[open] > summary { background: #f3f6fb; }
.row > summary:hover .lab, .row[open] > summary .lab { background: #f3f6fb; }
.row .lab::before { content: "\\25B8 "; color: #9e9e9e; }
.row[open] .lab::before { content: "\\25BE "; }
.row.flagged .lab { color: #c62828; font-weight: 700; }
.fault .lab { font-family: inherit; font-weight: 700; }
.trk > span { position: absolute; top: 4px; height: 8px; min-width: 2px; box-sizing: border-box; }
.m-q { top: 7px !important; height: 2px !important; background: #bdbdbd; }
.m-pub { top: 7px !important; height: 2px !important; background: #424242; }
.m-w { top: 7px !important; height: 0 !important; border-top: 2px dotted #9e9e9e; }
.m-nx { top: 7px !important; height: 0 !important; border-top: 2px dashed #b71c1c; opacity: .6; }
.m-a.success { background: #2e7d32; } .m-a.retry { background: #ef8c00; }
.m-a.failure { background: #c62828; } .m-a.revoked, .m-a.rejected { background: #6d4c41; }
.m-a.killed { background: #8a8a8a; border-right: 3px solid #000; }
.m-a.unfinished { background: repeating-linear-gradient(45deg, #8a8a8a 0 3px, #e0e0e0 3px 6px); }
.m-p { width: 0; min-width: 0 !important; border-left: 2px solid #424242; top: 2px !important;
  height: 12px !important; }
.m-p.refused, .m-p.uncertain { border-left-color: #b71c1c; border-left-width: 3px; }
.m-f { top: 2px !important; height: 12px !important; opacity: .85; }
.drill { position: sticky; left: 0; width: min(100%, 1100px); box-sizing: border-box;
  padding: 4px 8px 10px 24px; font-size: 12px; }
.drill table { margin: 4px 0; width: auto; }
.drill td, .drill th { padding: 2px 6px; }
.drill .exc { color: #b71c1c; max-width: 420px; overflow-wrap: anywhere; }
"""


def _pct(at: float, end: float) -> str:
    return f"{max(0.0, min(at, end)) / end * 100:.3f}%"


def _span(css: str, start: float, stop: float, end: float, tip: str) -> str:
    width = max(0.0, min(stop, end) - max(start, 0.0)) / end * 100
    return (f'<span class="{css}" style="left:{_pct(start, end)};width:{width:.3f}%" '
            f'title="{html.escape(tip)}"></span>')  # fmt: skip


def outcome_class(task: TaskHistory, killed: bool) -> str:
    """The filter's word for a task: its final outcome, else refused / never executed / killed
    (its last attempt's worker died under it) / unfinished."""
    from chaos.report.json_report import task_outcome

    outcome = task_outcome(task)
    if outcome == "unfinished" and killed:
        return "killed"
    return outcome


def _slug(outcome: str) -> str:
    return outcome.replace(" ", "-")


def run_end(history: RunHistory) -> float:
    """Where the timeline stops: the run's end, or the last thing it recorded if later."""
    tasks = history.tasks.values()
    return max([1.0, history.end_at, history.meta.finished_at or 0.0]
               + [t.last_seen_at for t in tasks]
               + [w.end for w in history.fault_windows if w.end is not None])  # fmt: skip


def _ticks(end: float) -> str:
    raw = end / 10
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    marks = []
    minor = step / 5
    for index in range(int(end / minor) + 1):
        at = index * minor
        major = index % 5 == 0
        text = f"{at:g} s" if major else f"{at:g}"
        marks.append(f'<span class="tick{"" if major else " minor"}" '
                     f'style="left:{_pct(at, end)}">{text}</span>')  # fmt: skip
    return "".join(marks)


def _publish_marks(task: TaskHistory, end: float) -> list[str]:
    marks = []
    for event in task.enqueues:
        if event.kind not in ("enqueue.accepted", "enqueue.refused", "outbox.saved",
                              "outbox.relayed"):  # fmt: skip
            continue
        tip = _publish_text(event)
        if event.seconds is not None and event.seconds > 0.01 * end:  # a publish that hung
            marks.append(_span("m-pub", event.at - event.seconds, event.at, end, tip))
        marks.append(_span(f"m-p {event.outcome}", event.at, event.at, end, tip))
    return marks


def _publish_text(event: EnqueueEvent) -> str:
    text = f"publish {event.outcome} at {format_seconds(event.at)}"
    if event.path:
        text += f" ({event.path} path)"
    if event.seconds:
        text += f", took {event.seconds:.2f} s"
    if event.exc_type:
        text += f": {event.exc_type.rsplit('.', 1)[-1]}"
    return text


def _attempt_tip(task: TaskHistory, attempt: Attempt, stop: float, how: str, by: str | None) -> str:
    head = f"{task.label} {attempt.label()} on {attempt.worker or '?'} (pid {attempt.pid or '?'})"
    span = f"{format_seconds(attempt.started_at)} to {format_seconds(stop)}"
    if how == "killed":
        return f"{head}: {span}, killed ({by})"
    if how == "unfinished":
        return f"{head}: from {format_seconds(attempt.started_at)}, never finished"
    text = f"{head}: {span}, {attempt.outcome or '?'}"
    if attempt.exc_type:
        text += f" ({attempt.exc_type.rsplit('.', 1)[-1]})"
    return text


def _task_marks(task: TaskHistory, history: RunHistory, end: float) -> tuple[list[str], bool]:
    """The row's spans, and whether its last execution was killed."""
    marks = _publish_marks(task, end)
    executions = task.executions
    promised = task.promised_at
    if promised is not None and not executions:
        marks.append(_span("m-nx", promised, end, end,
                           f"accepted at {format_seconds(promised)}, never executed"))  # fmt: skip
    elif promised is not None and executions[0].started_at is not None:
        first = executions[0].started_at
        if first > promised:
            marks.append(_span("m-q", promised, first, end,
                               f"queued {first - promised:.2f} s"))  # fmt: skip
    killed = False
    previous: tuple[Attempt, float] | None = None
    for attempt in executions:
        assert attempt.started_at is not None
        stop = attempt_end(attempt, history, end)
        if previous is not None and previous[0].outcome == "retry":
            wait = attempt.started_at - previous[1]
            marks.append(_span("m-w", previous[1], attempt.started_at, end,
                               f"retry wait {wait:.2f} s"))  # fmt: skip
        css = stop.how if stop.how != "ended" else (attempt.outcome or "unfinished")
        killed = stop.how == "killed"
        marks.append(_span(f"m-a {css}", attempt.started_at, max(stop.at, attempt.started_at),
                           end, _attempt_tip(task, attempt, stop.at, stop.how, stop.by)))  # fmt: skip
        previous = (attempt, stop.at)
    return marks, killed


def _cell(value: object) -> str:
    return f"<td>{html.escape('' if value is None else str(value))}</td>"


def _drill(task: TaskHistory, history: RunHistory, end: float, named_by: list[str]) -> str:
    """The attempts table (and the publishes) a row opens on."""
    max_retries = task.policy.get("max_retries") if task.policy else None
    rows = []
    for attempt in task.executions:
        stop = attempt_end(attempt, history, end)
        ended = {"ended": format_seconds(stop.at), "killed": f"{format_seconds(stop.at)} killed",
                 "unfinished": "never"}[stop.how]  # fmt: skip
        retries = "?" if attempt.attempt is None else str(attempt.attempt)
        if max_retries is not None:
            retries += f" of max {max_retries}"
        eta = format_seconds(attempt.eta_at) if attempt.eta_at is not None else ""
        if attempt.retry_eta_at is not None:
            eta += f" next due {format_seconds(attempt.retry_eta_at)}"
        elif attempt.countdown is not None:
            eta += f" countdown {attempt.countdown:g} s"
        exc = ""
        if attempt.exc_type:
            exc = attempt.exc_type.rsplit(".", 1)[-1] + (f": {attempt.exc_message[:200]}"
                                                         if attempt.exc_message else "")  # fmt: skip
        outcome = stop.by if stop.how == "killed" else (attempt.outcome or "never finished")
        rows.append("<tr>" + "".join(_cell(v) for v in (
            attempt.label(), format_seconds(attempt.started_at), ended,
            f"{stop.at - attempt.started_at:.2f} s" if attempt.started_at is not None else "",
            attempt.worker, attempt.pid, retries, eta.strip(),
            ("redelivered, " if attempt.redelivered else "") + str(outcome),
        )) + f'<td class="exc">{html.escape(exc)}</td></tr>')  # fmt: skip
    publishes = "; ".join(_publish_text(e) for e in task.enqueues if e.kind != "enqueue.tried")
    parts = [f"<div><b>{html.escape(task.name or '?')}</b> id {html.escape(task.task_id)}"
             + (f" · key {html.escape(task.key)}" if task.key else "") + "</div>"]  # fmt: skip
    if publishes:
        parts.append(f"<div>{html.escape(publishes)}</div>")
    if named_by:
        parts.append(f"<div>named by: {html.escape(', '.join(named_by))}</div>")
    if rows:
        parts.append("<table><thead><tr><th>attempt</th><th>start</th><th>end</th><th>ran</th>"
                     "<th>worker</th><th>pid</th><th>retries</th><th>eta</th><th>outcome</th>"
                     "<th>exception</th></tr></thead><tbody>" + "".join(rows)
                     + "</tbody></table>")  # fmt: skip
    else:
        parts.append("<div>never executed</div>")
    return '<div class="drill">' + "".join(parts) + "</div>"


def _fault_rows(history: RunHistory, end: float) -> tuple[str, str]:
    from chaos.report.timeline import _window_colour, _window_label, resume_marks

    resumed = {mark.window.fault_id: mark for mark in resume_marks(history)}
    rows, bands = [], []
    for window in history.fault_windows:
        stop = end if window.end is None else window.end
        colour = _window_colour(window)
        tip = _window_tip(window, resumed.get(window.fault_id))
        bands.append(f'<div class="band" style="left:{_pct(window.start, end)};'
                     f'width:{(stop - window.start) / end * 100:.3f}%;background:{colour}"></div>')  # fmt: skip
        bar = _span("m-f", window.start, stop, end, tip).replace(
            'style="', f'style="background:{colour};', 1)
        rows.append(f'<div class="fault" style="display:flex"><span class="lab" style="color:'
                    f'{colour}" title="{html.escape(tip)}">{html.escape(_window_label(window))}'
                    f'</span><span class="trk">{bar}</span></div>')  # fmt: skip
    return "".join(rows), "".join(bands)


def _window_tip(window: FaultWindow, mark: object) -> str:
    tip = window.describe()
    if window.how:
        tip += f" (healed: {window.how})"
    seconds = getattr(mark, "seconds", None)
    if seconds is not None:
        tip += f"; execution resumed {seconds:.2f} s after the heal"
    return tip


def render_timeline(history: RunHistory, verdicts: Sequence[Verdict]) -> tuple[str, str]:
    """The timeline section's markup and the CSS rules its filter and zoom need."""
    end = run_end(history)
    named: dict[str, list[str]] = {}
    for verdict in verdicts:
        if verdict.status != "held":
            for task_id in verdict.tasks:
                named.setdefault(task_id, []).append(verdict.name)
    rows, counts = [], {}
    for task in history.tasks.values():
        marks, killed = _task_marks(task, history, end)
        outcome = outcome_class(task, killed)
        counts[outcome] = counts.get(outcome, 0) + 1
        flagged = " flagged" if task.task_id in named else ""
        anchor = html.escape("t-" + task.task_id)
        rows.append(f'<details class="row o-{_slug(outcome)}{flagged}" id="{anchor}"><summary>'
                    f'<span class="lab" title="{html.escape(task.task_id)}: {outcome}">'
                    f"{html.escape(task.label)}</span>"
                    f'<span class="trk">{"".join(marks)}</span></summary>'
                    f"{_drill(task, history, end, named.get(task.task_id, []))}</details>")  # fmt: skip
    fault_rows, bands = _fault_rows(history, end)
    ordered = [o for o in OUTCOMES if o in counts] + sorted(set(counts) - set(OUTCOMES))
    toggles = [f'<input type="checkbox" class="tl-toggle" id="f-{_slug(o)}" checked>'
               for o in ordered]  # fmt: skip
    toggles.append('<input type="checkbox" class="tl-toggle" id="f-flagged">')
    toggles += [f'<input type="radio" class="tl-toggle" name="zoom" id="z{z}"'
                f'{" checked" if z == 1 else ""}>' for z in ZOOMS]  # fmt: skip
    chips = [f'<label for="f-{_slug(o)}" class="chip c-{_slug(o)}">{html.escape(o)} ({counts[o]})'
             "</label>" for o in ordered]  # fmt: skip
    chips.append(f'<label for="f-flagged" class="chip c-flagged">only tasks a verdict names '
                 f"({len(named)})</label>")  # fmt: skip
    zooms = [f'<label for="z{z}" class="zoom">{z}×</label>' for z in ZOOMS]
    rules = [STYLE]
    for outcome in ordered:
        slug = _slug(outcome)
        rules.append(f"#f-{slug}:not(:checked) ~ .tl .o-{slug} {{ display: none; }}\n"
                     f"#f-{slug}:checked ~ .tl-controls .c-{slug} {{ background: #e3f2fd; }}")  # fmt: skip
    rules.append("#f-flagged:checked ~ .tl .row:not(.flagged) { display: none; }\n"
                 "#f-flagged:checked ~ .tl-controls .c-flagged { background: #ffebee; }")  # fmt: skip
    for zoom in ZOOMS:
        rules.append(f"#z{zoom}:checked ~ .tl .canvas {{ --zoom: {zoom}; }}\n"
                     f"#z{zoom}:checked ~ .tl-controls label[for=z{zoom}] {{ background: #e3f2fd; }}")  # fmt: skip
        if zoom >= 4:
            rules.append(f"#z{zoom}:checked ~ .tl .tick.minor {{ display: block; }}")
    markup = (
        "".join(toggles)
        + '<div class="tl-controls"><span>show:</span>' + "".join(chips)
        + '<span>zoom:</span>' + "".join(zooms)
        + "<span>click a task to open its attempts; hover a mark for its times</span></div>"
        + '<div class="tl"><div class="canvas"><div class="bands">' + bands + "</div>"
        + '<div class="axis"><span class="lab">seconds since the run started</span>'
        + f'<span class="trk">{_ticks(end)}</span></div>'
        + fault_rows + "".join(rows)
        + ("" if rows else '<div class="lab">no task events in this run</div>')
        + "</div></div>"
    )  # fmt: skip
    return markup, "\n".join(rules)
