"""Sanity: things the system cannot have done, so that if the history shows them, the history
(the probe, the journal, the clocks) is wrong, not the system. A failed sanity check means the
other verdicts of the run are not to be trusted.

Each rule is a function over the whole history returning its findings; the check puts them in
task order (a task's findings in the order of the rules) and makes them one verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter

from chaos.checks.faults import describe_window, unreachable_windows
from chaos.checks.registry import register
from chaos.checks.verdict import (
    NO_FINDINGS,
    Finding,
    Verdict,
    in_task_order,
    messages_by_task,
    verdict_from_findings,
)
from chaos.history.model import Attempt, FaultWindow, RunHistory, TaskHistory, format_seconds

_at = attrgetter("at")
_started_at = attrgetter("started_at")

#: Each executed task with its executions (several rules need them; computed once).
Executed = list[tuple[TaskHistory, list[Attempt]]]


class DownSpan:
    """The broker's unreachable windows, and the span they cover once shrunk by the margin:
    outside it nothing needs a closer look."""

    __slots__ = ("hi", "lo", "margin", "windows")

    def __init__(self, windows: list[FaultWindow], margin: float) -> None:
        self.windows = windows
        self.margin = margin
        self.lo = min((w.start + margin for w in windows), default=float("inf"))
        self.hi = max(
            (float("inf") if w.end is None else w.end - margin for w in windows), default=0.0
        )

    def covering(self, *times: float) -> list[FaultWindow]:
        """The windows (shrunk by the margin) that cover every one of ``times``."""
        margin = self.margin
        return [w for w in self.windows if all(w.covers(at, margin) for at in times)]


def clock_skew_too_large(history: RunHistory, max_clock_skew: float | None) -> Sequence[Finding]:
    """A writer's wall clock further off the runner's than the scenario tolerates."""
    skews = history.clock_skews
    worst_skew = max((abs(s) for s in skews.values()), default=0.0)
    if max_clock_skew is None or worst_skew <= max_clock_skew:
        return NO_FINDINGS
    writer = max(skews, key=lambda w: abs(skews[w]))
    return [
        Finding(
            f"writer {writer}'s wall clock is {skews[writer]:+.2f} s off the runner's, "
            f"more than {max_clock_skew:.2f} s"
        )
    ]


def received_while_down(history: RunHistory, down: DownSpan) -> list[Finding]:
    """A worker received a task while the broker was unreachable."""
    findings = []
    lo, hi = down.lo, down.hi
    for task in history.tasks.values():
        for receipt in task.receipts:
            if not lo < receipt.at < hi:
                continue
            inside = down.covering(receipt.at)
            if inside:
                findings.append(
                    Finding(
                        f"{task.label}: received by {receipt.hostname or '?'} at "
                        f"{format_seconds(receipt.at)}, while "
                        f"{describe_window(inside[0], history)}",
                        task.task_id,
                        tuple(inside),
                    )
                )
    return findings


def accepted_while_down(history: RunHistory, down: DownSpan) -> list[Finding]:
    """A publish tried and accepted while the broker was unreachable."""
    findings = []
    lo, hi = down.lo, down.hi
    for task in history.tasks.values():
        enqueues = task.enqueues
        for tried in enqueues:
            if tried.kind != "enqueue.tried" or not lo < tried.at < hi:
                continue
            answer = next(
                (e for e in enqueues if e.kind == "enqueue.accepted" and e.at >= tried.at),
                None,
            )
            if answer is None:
                continue
            inside = down.covering(tried.at, answer.at)
            if inside:
                findings.append(
                    Finding(
                        f"{task.label}: publish accepted at {format_seconds(answer.at)}, while "
                        f"{describe_window(inside[0], history)}",
                        task.task_id,
                        tuple(inside),
                    )
                )
    return findings


def executed_before_enqueued(executed: Executed, margin: float) -> list[Finding]:
    """A task's first execution before its first publish."""
    findings = []
    for task, executions in executed:
        if not task.enqueues:
            continue
        first_tried = min(map(_at, task.enqueues))
        first_run = min(map(_started_at, executions))
        if first_run < first_tried - margin:
            findings.append(
                Finding(
                    f"{task.label}: executed at {format_seconds(first_run)}, before its first "
                    f"enqueue at {format_seconds(first_tried)} (clocks or journal wrong)",
                    task.task_id,
                )
            )
    return findings


def started_before_previous_ended(executed: Executed, margin: float) -> list[Finding]:
    """Attempt n started before attempt n - 1 ended (a retry is a new message sent at the end)."""
    findings = []
    for task, executions in executed:
        if len(executions) < 2:  # one execution has no attempt before it
            continue
        by_number = {a.attempt: a for a in reversed(executions) if a.attempt is not None}
        for number, attempt in sorted(by_number.items()):
            before = by_number.get(number - 1)
            if before is None or before.ended_at is None or attempt.started_at is None:
                continue
            if attempt.started_at < before.ended_at - margin:
                findings.append(
                    Finding(
                        f"{task.label}: attempt {number} started at "
                        f"{format_seconds(attempt.started_at)}, before attempt {number - 1} "
                        f"ended at {format_seconds(before.ended_at)}",
                        task.task_id,
                    )
                )
    return findings


def ended_before_started(executed: Executed) -> list[Finding]:
    """An attempt whose end is earlier than its start."""
    findings = []
    for task, executions in executed:
        for attempt in executions:
            ended_at = attempt.ended_at
            if ended_at is not None and ended_at < attempt.started_at:  # type: ignore[operator]
                message = f"{task.label}: {attempt.label()} ended before it started"
                findings.append(Finding(message, task.task_id))
    return findings


@register("sanity")
def check_sanity(
    history: RunHistory, margin: float = 0.5, max_clock_skew: float | None = None
) -> Verdict:
    """No delivery through a broker that was down; effects never before their causes."""
    down = DownSpan(unreachable_windows(history), margin)
    executed = [(t, runs) for t in history.tasks.values() if (runs := t.executions)]
    findings = [
        *clock_skew_too_large(history, max_clock_skew),
        *in_task_order(
            history,
            received_while_down(history, down),
            accepted_while_down(history, down),
            executed_before_enqueued(executed, margin),
            started_before_previous_ended(executed, margin),
            ended_before_started(executed),
        ),
    ]
    skews = history.clock_skews
    notes = []
    if skews:
        worst_skew = max(abs(s) for s in skews.values())
        notes.append(f"clock skew corrected for {len(skews)} writers (worst {worst_skew:.2f} s)")
    if history.partial_last_line:
        notes.append("the journal's last line was partial (a writer crashed) and was skipped")
    return verdict_from_findings(
        "sanity",
        findings,
        expected="no delivery through a down broker, no effect before its cause",
        observed=f"{len(findings)} impossible events" + (f"; {'; '.join(notes)}" if notes else ""),
        held="; ".join(["history consistent"] + notes),
        details={
            "problems": messages_by_task(findings),
            "clock_skews": dict(skews),
            "partial_last_line": history.partial_last_line,
            "events": history.event_count,
        },
    )
