"""Enqueue during an outage: refused or accepted as the scenario expects, and on the durable path
every publish the broker refused delivered later exactly once.

Measured (reference §1, §2): a publish to a dead broker raises OperationalError and nothing is
buffered on the client; to a hung one it blocks until a socket timeout, without limit by default.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chaos.checks.faults import describe_window, outage_windows
from chaos.checks.registry import register
from chaos.checks.verdict import (
    NO_FINDINGS,
    Finding,
    Verdict,
    messages_by_task,
    verdict_from_findings,
)
from chaos.errors import ConfigError, Problem
from chaos.history.model import EnqueueEvent, FaultWindow, RunHistory, TaskHistory, format_seconds

DURING_OUTAGE = ("refused", "accepted", "any")

#: The answers a publish during an outage may get, as ``during_outage`` names them.
WANTED = {"refused": ("refused", "uncertain"), "accepted": ("accepted",)}


@dataclass(slots=True)
class OutagePublish:
    """A publish tried and answered inside an outage, with its answer and the windows around it."""

    task: TaskHistory
    tried: EnqueueEvent
    answer: EnqueueEvent | None
    around: list[FaultWindow]

    @property
    def outcome(self) -> str:
        return self.answer.outcome if self.answer else "no answer"


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


def publishes_in_outage(
    history: RunHistory, windows: list[FaultWindow], path: str | None, margin: float
) -> list[OutagePublish]:
    """Publishes (on ``path``, if given) tried and answered inside an outage window shrunk by
    ``margin`` at both ends: one tried just before the heal and accepted by the restarted broker
    met a live broker."""
    found = []
    # A publish tried outside every window's span (shrunk by the margin) is in no outage.
    span_lo = min((w.start + margin for w in windows), default=float("inf"))
    span_hi = max((float("inf") if w.end is None else w.end - margin for w in windows), default=0.0)
    for task in history.tasks.values():
        for tried in task.enqueues:
            if tried.kind != "enqueue.tried" or (path is not None and tried.path != path):
                continue
            if not span_lo < tried.at < span_hi:
                continue
            answer = _answer(task, tried)
            answered_at = answer.at if answer else tried.at
            around = [
                w for w in windows if w.covers(tried.at, margin) and w.covers(answered_at, margin)
            ]
            if around:
                found.append(OutagePublish(task, tried, answer, around))
    return found


def answered_otherwise(
    publishes: list[OutagePublish], during_outage: str, history: RunHistory
) -> Sequence[Finding]:
    """A publish during an outage answered otherwise than the scenario expects."""
    if during_outage == "any":
        return NO_FINDINGS
    findings = []
    for publish in publishes:
        outcome, answer, task = publish.outcome, publish.answer, publish.task
        if outcome in WANTED[during_outage]:
            continue
        took = f" after {answer.seconds:.2f} s" if answer and answer.seconds else ""
        findings.append(
            Finding(
                f"{task.label}: publish tried at {format_seconds(publish.tried.at)} while "
                f"{describe_window(publish.around[0], history)} was {outcome}{took}, "
                f"expected {during_outage}",
                task.task_id,
            )
        )
    return findings


def _durable_problem(task: TaskHistory) -> str | None:
    """A durable task whose publish was refused (or that waited in the outbox) must run once."""
    runs = [a for a in task.executions if a.attempt in (0, None)]
    if not runs:
        return f"{task.label}: refused at first, never delivered afterwards"
    if len(runs) > 1:
        return f"{task.label}: delivered {len(runs)} times, expected exactly once"
    return None


def durable_not_delivered_once(history: RunHistory) -> list[Finding]:
    """A task on the durable path, refused at first or saved to the outbox, not run exactly once."""
    findings = []
    for task in history.tasks.values():
        if not any(e.path == "durable" for e in task.enqueues):
            continue
        if not (task.refused or task.enqueues_of("saved")):
            continue
        found = _durable_problem(task)
        if found:
            findings.append(Finding(found, task.task_id, tuple(history.windows_for_task(task))))
    return findings


def too_few_in_outage(
    tried_in_outage: int,
    min_tried: int,
    during_outage: str,
    windows: list[FaultWindow],
    history: RunHistory,
) -> Sequence[Finding]:
    """Fewer publishes during an outage than the scenario needs to judge them."""
    if during_outage == "any" or tried_in_outage >= min_tried:
        return NO_FINDINGS
    outages = "; ".join(describe_window(w, history) for w in windows) or "no outage window"
    return [
        Finding(
            f"{tried_in_outage} publishes tried during an outage ({outages}), "
            f"expected at least {min_tried}"
        )
    ]


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
    publishes = publishes_in_outage(history, windows, path, margin)
    answers = {"accepted": 0, "refused": 0, "uncertain": 0, "no answer": 0}
    for publish in publishes:
        answers[publish.outcome] += 1
    durable: Sequence[Finding] = NO_FINDINGS
    if durable_exactly_once and path in (None, "durable"):
        durable = durable_not_delivered_once(history)
    findings = [
        *too_few_in_outage(len(publishes), min_tried, during_outage, windows, history),
        *answered_otherwise(publishes, during_outage, history),
        *durable,
    ]
    scope = f" on the {path} path" if path else ""
    observed = ", ".join(f"{k} {v}" for k, v in answers.items() if v) or "none in an outage"
    if durable_exactly_once:
        observed += f"; durable not delivered once: {len(durable)}"
    return verdict_from_findings(
        "enqueue",
        findings,
        expected=f"publishes during an outage{scope}: {during_outage}"
        + ("; durable refused publishes delivered exactly once" if durable_exactly_once else ""),
        observed=observed,
        held=f"{len(publishes)} publishes{scope} during an outage, all {during_outage}",
        fault_windows=[w for p in publishes for w in p.around]
        + [w for f in durable for w in f.fault_windows],
        details={
            "answers": answers,
            "tried_in_outage": len(publishes),
            "problems": messages_by_task(findings),
        },
    )
