"""Sanity: things the system cannot have done, so that if the history shows them, the history
(the probe, the journal, the clocks) is wrong, not the system. A failed sanity check means the
other verdicts of the run are not to be trusted."""

from __future__ import annotations

from operator import attrgetter

from chaos.checks.registry import register
from chaos.checks.faults import describe_window, unreachable_windows
from chaos.checks.verdict import Verdict, unique_windows
from chaos.history.model import FaultWindow, RunHistory, format_seconds

_at = attrgetter("at")
_started_at = attrgetter("started_at")


@register("sanity")
def check_sanity(
    history: RunHistory, margin: float = 0.5, max_clock_skew: float | None = None
) -> Verdict:
    """No delivery through a broker that was down; effects never before their causes."""
    problems: dict[str, list[str]] = {}
    windows_hit: list[FaultWindow] = []
    down = unreachable_windows(history)

    def note(task_id: str, text: str) -> None:
        problems.setdefault(task_id, []).append(text)

    # Outside the span of every down window (shrunk by the margin) nothing needs a closer look.
    span_lo = min((w.start + margin for w in down), default=float("inf"))
    span_hi = max((float("inf") if w.end is None else w.end - margin for w in down), default=0.0)
    for task in history.tasks.values():
        for receipt in task.receipts:
            if not span_lo < receipt.at < span_hi:
                continue
            inside = [w for w in down if w.covers(receipt.at, margin)]
            if inside:
                windows_hit += inside
                note(
                    task.task_id,
                    f"{task.label}: received by {receipt.hostname or '?'} at "
                    f"{format_seconds(receipt.at)}, while {describe_window(inside[0], history)}",
                )
        enqueues = task.enqueues
        for tried in enqueues:
            if tried.kind != "enqueue.tried" or not span_lo < tried.at < span_hi:
                continue
            answer = next(
                (e for e in enqueues if e.kind == "enqueue.accepted" and e.at >= tried.at),
                None,
            )
            if answer is None:
                continue
            inside = [w for w in down if w.covers(tried.at, margin) and w.covers(answer.at, margin)]
            if inside:
                windows_hit += inside
                note(
                    task.task_id,
                    f"{task.label}: publish accepted at {format_seconds(answer.at)}, while "
                    f"{describe_window(inside[0], history)}",
                )
        executions = task.executions
        if not executions:
            continue
        if enqueues:
            first_tried = min(map(_at, enqueues))
            first_run = min(map(_started_at, executions))
            if first_run < first_tried - margin:
                note(
                    task.task_id,
                    f"{task.label}: executed at {format_seconds(first_run)}, before its first "
                    f"enqueue at {format_seconds(first_tried)} (clocks or journal wrong)",
                )
        if len(executions) > 1:  # one execution has no attempt before it
            by_number = {a.attempt: a for a in reversed(executions) if a.attempt is not None}
            for number, attempt in sorted(by_number.items()):
                before = by_number.get(number - 1)
                if before is None or before.ended_at is None or attempt.started_at is None:
                    continue
                if attempt.started_at < before.ended_at - margin:
                    note(
                        task.task_id,
                        f"{task.label}: attempt {number} started at "
                        f"{format_seconds(attempt.started_at)}, before attempt {number - 1} "
                        f"ended at {format_seconds(before.ended_at)}",
                    )
        for attempt in executions:
            ended_at = attempt.ended_at
            if ended_at is not None and ended_at < attempt.started_at:  # type: ignore[operator]
                note(task.task_id, f"{task.label}: {attempt.label()} ended before it started")
    skews = history.clock_skews
    worst_skew = max((abs(s) for s in skews.values()), default=0.0)
    general = []
    if max_clock_skew is not None and worst_skew > max_clock_skew:
        writer = max(skews, key=lambda w: abs(skews[w]))
        general.append(
            f"writer {writer}'s wall clock is {skews[writer]:+.2f} s off the runner's, "
            f"more than {max_clock_skew:.2f} s"
        )
    messages = general + [m for found in problems.values() for m in found]
    notes = []
    if skews:
        notes.append(f"clock skew corrected for {len(skews)} writers (worst {worst_skew:.2f} s)")
    if history.partial_last_line:
        notes.append("the journal's last line was partial (a writer crashed) and was skipped")
    if messages:
        message = messages[0] + (f" (and {len(messages) - 1} more)" if len(messages) > 1 else "")
    else:
        message = "; ".join(["history consistent"] + notes)
    return Verdict(
        name="sanity",
        ok=not messages,
        expected="no delivery through a down broker, no effect before its cause",
        observed=f"{len(messages)} impossible events" + (f"; {'; '.join(notes)}" if notes else ""),
        message=message,
        tasks=list(problems),
        fault_windows=unique_windows(windows_hit),
        details={
            "problems": problems,
            "clock_skews": dict(skews),
            "partial_last_line": history.partial_last_line,
            "events": history.event_count,
        },
    )
