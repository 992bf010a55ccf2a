"""Sanity: things the system cannot have done, so that if the history shows them, the history
(the probe, the journal, the clocks) is wrong, not the system. A failed sanity check means the
other verdicts of the run are not to be trusted."""

from __future__ import annotations

from chaos.checks import register
from chaos.checks.faults import describe_window, unreachable_windows
from chaos.checks.verdict import Verdict, unique_windows
from chaos.history import FaultWindow, RunHistory, format_seconds


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

    for task in history.tasks.values():
        for receipt in task.receipts:
            inside = [w for w in down if w.covers(receipt.at, margin)]
            if inside:
                windows_hit += inside
                note(
                    task.task_id,
                    f"{task.label}: received by {receipt.hostname or '?'} at "
                    f"{format_seconds(receipt.at)}, while {describe_window(inside[0], history)}",
                )
        for tried in task.enqueues_of("tried"):
            answer = next(
                (e for e in task.enqueues if e.kind == "enqueue.accepted" and e.at >= tried.at),
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
        if task.tried and task.executed:
            first_tried = min(e.at for e in task.enqueues)
            first_run = min(a.started_at for a in task.executions if a.started_at is not None)
            if first_run < first_tried - margin:
                note(
                    task.task_id,
                    f"{task.label}: executed at {format_seconds(first_run)}, before its first "
                    f"enqueue at {format_seconds(first_tried)} (clocks or journal wrong)",
                )
        by_number = {a.attempt: a for a in reversed(task.executions) if a.attempt is not None}
        for number, attempt in sorted(by_number.items()):
            before = by_number.get(number - 1)
            if before is None or before.ended_at is None or attempt.started_at is None:
                continue
            if attempt.started_at < before.ended_at - margin:
                note(
                    task.task_id,
                    f"{task.label}: attempt {number} started at "
                    f"{format_seconds(attempt.started_at)}, before attempt {number - 1} ended at "
                    f"{format_seconds(before.ended_at)}",
                )
        for attempt in task.executions:
            if attempt.ended_at is not None and attempt.started_at is not None:
                if attempt.ended_at < attempt.started_at:
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
