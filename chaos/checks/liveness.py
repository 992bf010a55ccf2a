"""Invariant ``liveness``: after the last heal, while a pool slot is free, no accepted task waits.

A task is *due* when the broker accepted it (or at its eta/countdown), a retry when its countdown
ends. From the later of that and the last heal of any broker, link or worker fault, until it
starts (or the run ends), the time during which some worker consuming its queue was up,
connected, and had a free pool slot by our own started/finished accounting is counted; more than
``BASE_SECONDS + SECONDS_PER_SLOT x slots`` of it is a stall. That catches a catatonic worker
after a Redis restart (celery#8030: connected, idle, never consuming) and a short task held
behind a long one while another slot is free, which ``resume_within`` (first execution and drain)
does not look at. The bound is the machine's latency, in real seconds: N times as many app
seconds under a dilated clock (``chaos.checks.allowance``).
"""

from __future__ import annotations

from dataclasses import dataclass

from chaos.checks.allowance import dilated_note, machine_allowance
from chaos.checks.capacity import disruptive_windows, free_time, last_heal
from chaos.checks.held import restored_at
from chaos.checks.registry import register_invariant
from chaos.checks.verdict import Finding, Verdict, verdict_from_findings
from chaos.history.model import RunHistory, TaskHistory, format_seconds

#: BRPOP's 1 s timeout, the consumer's poll tick, pool dispatch and a reconnect settling (real s).
BASE_SECONDS = 5.0
#: Each pool slot may take its prefetched message in turn (real s per slot).
SECONDS_PER_SLOT = 1.0


@dataclass(frozen=True, slots=True)
class Due:
    """One execution a task owed: attempt ``attempt``, due at ``at``, started at ``started``."""

    task: TaskHistory
    attempt: int
    at: float
    started: float | None
    routing_key: str | None


def _asked_countdown(task: TaskHistory) -> float:
    for enqueue in task.enqueues:
        if enqueue.countdown is not None:
            return enqueue.countdown
    return 0.0


def _routing_key(task: TaskHistory) -> str | None:
    for item in [*task.receipts, *task.attempts]:
        if item.routing_key:
            return item.routing_key
    for enqueue in task.enqueues:
        if enqueue.queue:
            return enqueue.queue
    return None


def dues(task: TaskHistory) -> list[Due]:
    """Attempt 0 from the broker's acceptance (or its eta), each retry from its countdown."""
    result = []
    routing_key = _routing_key(task)
    first_start: dict[int, float] = {}
    for attempt in task.executions:
        number = attempt.attempt or 0
        if attempt.started_at is not None and number not in first_start:
            first_start[number] = attempt.started_at
    accepted = task.accepted_at
    if accepted is not None:
        etas = [r.eta_at for r in task.receipts if r.attempt in (0, None) and r.eta_at is not None]
        etas += [a.eta_at for a in task.executions if (a.attempt or 0) == 0 and a.eta_at]
        at = max([accepted + _asked_countdown(task), *[e for e in etas if e is not None]])
        result.append(Due(task, 0, at, first_start.get(0), routing_key))
    for attempt in task.attempts:
        if attempt.outcome != "retry":
            continue
        retried = attempt.retried_at if attempt.retried_at is not None else attempt.ended_at
        if attempt.retry_eta_at is not None:
            at = attempt.retry_eta_at
        elif retried is not None and attempt.countdown is not None:
            at = retried + attempt.countdown
        else:
            continue
        number = (attempt.attempt or 0) + 1
        result.append(Due(task, number, at, first_start.get(number), routing_key))
    return result


def _stall(history: RunHistory, due: Due, heal: float, end: float) -> Finding | None:
    # A worker that died holding the message: nobody can run it before kombu restores it.
    restored = restored_at(history, due.task, due.attempt)
    since = max(due.at, heal, restored if restored is not None else due.at)
    until = due.started if due.started is not None else end
    if until <= since:
        return None
    if due.started is None and any(w.overlaps(due.at, end) for w in disruptive_windows(history)):
        return None  # left in the broker by a fault: no_lost's question, not a stall
    free = free_time(history, due.routing_key)
    bound = machine_allowance(history, BASE_SECONDS + SECONDS_PER_SLOT * free.slots)
    waited = free.within(since, until)
    if waited <= bound:
        return None
    ended = f"started at {format_seconds(due.started)}" if due.started is not None else (
        f"never started by the run's end at {format_seconds(end)}"
    )
    message = (
        f"{due.task.label}: attempt {due.attempt} due at {format_seconds(due.at)}, {ended}; "
        f"{waited:.2f} s of it with a free pool slot on {', '.join(free.hostnames)} "
        f"(bound {bound:.2f} s = {BASE_SECONDS:g} s + {SECONDS_PER_SLOT:g} s x {free.slots} slots"
        f"{dilated_note(history)})"
    )
    windows = tuple(history.windows_around(due.at, until))
    return Finding(message, due.task.task_id, windows)


@register_invariant("liveness")
def check_liveness(history: RunHistory) -> Verdict:
    """No accepted task waits past the bound while a slot is free, after the last heal."""
    heal = last_heal(history)
    end = history.meta.finished_at if history.meta.finished_at is not None else history.end_at
    expected = (
        f"after the last heal, no task waits more than {BASE_SECONDS:g} s + "
        f"{SECONDS_PER_SLOT:g} s per pool slot while a slot is free{dilated_note(history)}"
    )
    if heal is None:
        return verdict_from_findings(
            "liveness", [], expected=expected, observed="not judged: a fault never healed",
            held="a broker, link or worker fault never healed: nothing after a last heal to judge",
        )  # fmt: skip
    findings = []
    judged = 0
    for task in history.tasks.values():
        for due in dues(task):
            judged += 1
            finding = _stall(history, due, heal, end)
            if finding is not None:
                findings.append(finding)
    return verdict_from_findings(
        "liveness",
        findings,
        expected=expected,
        observed=f"{len(findings)} of {judged} due executions stalled after "
        f"{format_seconds(heal)}",
        held=f"{judged} due executions, none stalled with a free slot after "
        f"{format_seconds(heal)}",
        details={"base_seconds": BASE_SECONDS, "seconds_per_slot": SECONDS_PER_SLOT,
                 "last_heal": heal},
    )  # fmt: skip
