"""Enqueue during an outage: refused or accepted as the scenario expects, and on the durable path
every publish the broker refused delivered later exactly once.

Measured (reference §1, §2): a publish to a dead broker raises OperationalError and nothing is
buffered on the client; to a hung one it blocks until a socket timeout, without limit by default.
"""

from __future__ import annotations

from chaos.checks.registry import register
from chaos.checks.faults import describe_window, outage_windows
from chaos.checks.verdict import Verdict, unique_windows
from chaos.errors import ConfigError, Problem
from chaos.history.model import EnqueueEvent, FaultWindow, RunHistory, TaskHistory, format_seconds

DURING_OUTAGE = ("refused", "accepted", "any")


def _answer(task: TaskHistory, tried: EnqueueEvent) -> EnqueueEvent | None:
    """The accepted or refused event that answered this publish (first one after it)."""
    for event in task.enqueues:
        if (
            event.at >= tried.at
            and event.kind in ("enqueue.accepted", "enqueue.refused")
            and (tried.path is None or event.path in (None, tried.path))
        ):
            return event
    return None


def _durable_problem(task: TaskHistory) -> str | None:
    """A durable task whose publish was refused (or that waited in the outbox) must run once."""
    runs = [a for a in task.executions if a.attempt in (0, None)]
    if not runs:
        return f"{task.label}: refused at first, never delivered afterwards"
    if len(runs) > 1:
        return f"{task.label}: delivered {len(runs)} times, expected exactly once"
    return None


@register("enqueue")
def check_enqueue(
    history: RunHistory,
    during_outage: str = "any",
    path: str | None = None,
    durable_exactly_once: bool = True,
    margin: float = 0.2,
    min_tried: int = 1,
) -> Verdict:
    """Publishes during a broker outage answered as the scenario expects. A publish counts when
    it was tried and answered inside an outage window shrunk by ``margin`` at both ends."""
    if during_outage not in DURING_OUTAGE:
        raise ConfigError(
            [
                Problem(
                    "unknown enqueue expectation",
                    field_path="during_outage",
                    given=repr(during_outage),
                    expected=" | ".join(DURING_OUTAGE),
                )
            ]
        )
    windows = outage_windows(history)
    problems: dict[str, list[str]] = {}
    concerned_windows: list[FaultWindow] = []
    tried_in_outage = 0
    answers = {"accepted": 0, "refused": 0, "uncertain": 0, "no answer": 0}
    # A publish tried outside every window's span (shrunk by the margin) is in no outage.
    span_lo = min((w.start + margin for w in windows), default=float("inf"))
    span_hi = max((float("inf") if w.end is None else w.end - margin for w in windows), default=0.0)
    for task in history.tasks.values():
        for tried in task.enqueues:
            if tried.kind != "enqueue.tried" or (path is not None and tried.path != path):
                continue
            if not span_lo < tried.at < span_hi:
                continue
            # A publish is "during the outage" when it was both tried and answered inside it: one
            # tried just before the heal and accepted by the restarted broker met a live broker.
            answer = _answer(task, tried)
            answered_at = answer.at if answer else tried.at
            around = [
                w for w in windows if w.covers(tried.at, margin) and w.covers(answered_at, margin)
            ]
            if not around:
                continue
            tried_in_outage += 1
            concerned_windows += around
            outcome = answer.outcome if answer else "no answer"
            answers[outcome] += 1
            wanted = {"refused": ("refused", "uncertain"), "accepted": ("accepted",)}
            if during_outage != "any" and outcome not in wanted[during_outage]:
                took = f" after {answer.seconds:.2f} s" if answer and answer.seconds else ""
                problems.setdefault(task.task_id, []).append(
                    f"{task.label}: publish tried at {format_seconds(tried.at)} while "
                    f"{describe_window(around[0], history)} was {outcome}{took}, "
                    f"expected {during_outage}"
                )
    durable_failures = 0
    if durable_exactly_once and path in (None, "durable"):
        for task in history.tasks.values():
            if not any(e.path == "durable" for e in task.enqueues):
                continue
            if not (task.refused or task.enqueues_of("saved")):
                continue
            found = _durable_problem(task)
            if found:
                durable_failures += 1
                problems.setdefault(task.task_id, []).append(found)
                concerned_windows += history.windows_for_task(task)
    too_few = during_outage != "any" and tried_in_outage < min_tried
    messages = [m for found in problems.values() for m in found]
    if too_few:
        outages = "; ".join(describe_window(w, history) for w in windows) or "no outage window"
        messages.insert(
            0,
            f"{tried_in_outage} publishes tried during an outage ({outages}), "
            f"expected at least {min_tried}",
        )
    scope = f" on the {path} path" if path else ""
    observed = ", ".join(f"{k} {v}" for k, v in answers.items() if v) or "none in an outage"
    if durable_exactly_once:
        observed += f"; durable not delivered once: {durable_failures}"
    if messages:
        message = messages[0] + (f" (and {len(messages) - 1} more)" if len(messages) > 1 else "")
    else:
        message = f"{tried_in_outage} publishes{scope} during an outage, all {during_outage}"
    return Verdict(
        name="enqueue",
        ok=not messages,
        expected=f"publishes during an outage{scope}: {during_outage}"
        + ("; durable refused publishes delivered exactly once" if durable_exactly_once else ""),
        observed=observed,
        message=message,
        tasks=list(problems),
        fault_windows=unique_windows(concerned_windows),
        details={"answers": answers, "tried_in_outage": tried_in_outage, "problems": problems},
    )
