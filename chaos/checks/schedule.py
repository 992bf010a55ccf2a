"""Invariants ``retry_schedule`` and ``eta``: a retry waits what the task declares, an ETA task
never starts before its eta and never runs twice for one eta.

The declared delay before retry n+1 follows Celery's own order: an autoretry (the exception is
in ``autoretry_for``) with ``retry_backoff`` waits ``min(retry_backoff_max, factor x 2**n)``
(anywhere in ``[0, that]`` with ``retry_jitter``), else ``retry_kwargs['countdown']``, else
``default_retry_delay``; a manual ``self.retry(countdown=/eta=)`` waits what it passed (Celery
fills in ``default_retry_delay`` when it passes neither). Not merely what the call asked for: an
autoretry asking for more than it declares fails too.

Tolerances: ``EARLY_SECONDS`` before the declared delay or the eta (the worker's timer resolution
and the order in which clocks are read); ``LATE_SECONDS`` of *free capacity* after it (a busy pool
or a fault makes a retry late without breaking the promise; a free one does not). Both are the
machine's latency in real seconds, N times as many app seconds under a dilated clock
(``chaos.checks.allowance``); the declared delay and the eta are the app's and never scaled.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from chaos.checks.allowance import dilated_note, machine_allowance
from chaos.checks.capacity import free_time
from chaos.checks.explained import duplicate_pairs, explain
from chaos.checks.held import restored_at
from chaos.checks.pins import CELERY_DEFAULT_RETRY_DELAY
from chaos.checks.registry import register_invariant
from chaos.checks.retries import backoff_bound
from chaos.checks.pins import same_exception
from chaos.checks.verdict import Finding, Verdict, verdict_from_findings
from chaos.history.model import Attempt, RunHistory, TaskHistory, format_seconds

#: Real seconds (see the module's docstring).
EARLY_SECONDS = 0.25
LATE_SECONDS = 2.0
#: How close two copies' etas must be to be "one eta" (s): the same value copied, not a latency.
SAME_ETA_SECONDS = 0.001


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def declared_delay(
    policy: Mapping[str, Any], attempt: Attempt, retried: float
) -> tuple[float, float, str]:
    """(lowest, highest, source): the wait before the attempt after ``attempt`` that the task
    declares."""
    n = attempt.attempt or 0
    autoretry = any(same_exception(attempt.exc_type, name)
                    for name in policy.get("autoretry_for") or ())  # fmt: skip
    if autoretry:
        bound = backoff_bound(policy, n)
        if bound is not None:
            jitter = policy.get("retry_jitter")
            if jitter is None or jitter:
                return 0.0, bound, f"retry_backoff with jitter, [0, {bound:.2f}] s"
            return bound, bound, f"retry_backoff {bound:.2f} s"
        retry_kwargs = policy.get("retry_kwargs") or {}
        countdown = _number(retry_kwargs.get("countdown"))
        if countdown is not None:
            return countdown, countdown, f"retry_kwargs countdown {countdown:.2f} s"
    elif attempt.countdown is not None:
        return attempt.countdown, attempt.countdown, f"countdown {attempt.countdown:.2f} s"
    elif attempt.retry_eta_at is not None:
        wait = attempt.retry_eta_at - retried
        return wait, wait, f"eta {format_seconds(attempt.retry_eta_at)}"
    delay = _number(policy.get("default_retry_delay"))
    delay = CELERY_DEFAULT_RETRY_DELAY if delay is None else delay
    return delay, delay, f"default_retry_delay {delay:.2f} s"


def _routing_key(task: TaskHistory) -> str | None:
    return next((a.routing_key for a in task.attempts if a.routing_key), None)


def _retry_findings(history: RunHistory, task: TaskHistory) -> list[Finding]:
    findings = []
    early, late = (machine_allowance(history, s) for s in (EARLY_SECONDS, LATE_SECONDS))
    executions = task.executions
    policy = task.policy
    for before in executions:
        if before.outcome != "retry":
            continue
        retried = before.retried_at if before.retried_at is not None else before.ended_at
        n = before.attempt or 0
        after = next((a for a in executions if a.attempt == n + 1), None)
        if retried is None or after is None or after.started_at is None:
            continue
        lowest, highest, source = declared_delay(policy, before, retried)
        # Celery fixed the retry's ETA at self.retry(), before the task_retry signal, which lands
        # later by the machine's latency (N times longer in app time under a dilated clock): the
        # gap starts where the ETA was fixed (the ETA the next attempt carries, minus countdown).
        if before.countdown is not None:
            fixed = [eta - before.countdown for eta in (before.retry_eta_at, after.eta_at)
                     if eta is not None]  # fmt: skip
            retried = min([retried, *fixed])
        gap = after.started_at - retried
        where = f"{task.label}: attempt {n + 1} started {gap:.2f} s after attempt {n}'s retry"
        windows = tuple(history.windows_around(retried, after.started_at))
        asked = before.countdown
        if asked is not None and not lowest - 1e-6 <= asked <= highest + 1e-6:
            findings.append(Finding(f"{task.label}: attempt {n}'s retry asked for "
                                    f"{asked:.2f} s, the task declares {source}",
                                    task.task_id, windows))  # fmt: skip
        if gap < lowest - early:
            findings.append(Finding(f"{where}, sooner than its declared {source} "
                                    f"(tolerance {early:g} s)", task.task_id, windows))  # fmt: skip
            continue
        # Late while kombu had not yet restored a message a dead worker held: the transport's
        # visibility_timeout, not the task's schedule (chaos.checks.held).
        restored = restored_at(history, task, n + 1)
        late_from = max(retried + highest, restored if restored is not None else 0.0)
        free = free_time(history, _routing_key(task)).within(late_from, after.started_at)
        if free > late:
            findings.append(Finding(f"{where}, its declared {source}; {free:.2f} s of the delay "
                                    f"with a free pool slot (tolerance {late:g} s)",
                                    task.task_id, windows))  # fmt: skip
    return findings


@register_invariant("retry_schedule")
def check_retry_schedule(history: RunHistory) -> Verdict:
    """Each retry waits what its task declares, neither sooner nor later with a free slot."""
    findings = []
    judged = 0
    for task in history.tasks.values():
        if any(a.outcome == "retry" for a in task.attempts):
            judged += 1
            findings += _retry_findings(history, task)
    return verdict_from_findings(
        "retry_schedule",
        findings,
        expected=f"each retry's delay as declared (-{EARLY_SECONDS:g} s; late only while busy "
        f"or faulted, +{LATE_SECONDS:g} s of free slot{dilated_note(history)})",
        observed=f"{len(findings)} off schedule in {judged} retried tasks",
        held=f"{judged} retried tasks, every delay as declared",
    )


def _eta_findings(history: RunHistory, task: TaskHistory) -> list[Finding]:
    findings = []
    tolerance = machine_allowance(history, EARLY_SECONDS)
    for attempt in task.executions:
        if attempt.eta_at is None or attempt.started_at is None:
            continue
        early = attempt.eta_at - attempt.started_at
        if early > tolerance:
            findings.append(Finding(
                f"{task.label}: {attempt.label()} started at {format_seconds(attempt.started_at)}"
                f" on {attempt.worker or '?'}, {early:.2f} s before its eta "
                f"{format_seconds(attempt.eta_at)} (tolerance {tolerance:g} s)",
                task.task_id, tuple(history.windows_around(attempt.eta_at, attempt.started_at)),
            ))  # fmt: skip
    for first, second in duplicate_pairs(task):
        if first.eta_at is None or second.eta_at is None:
            continue
        if abs(first.eta_at - second.eta_at) > SAME_ETA_SECONDS:
            continue
        if explain(history, task, first, second) is not None:
            continue
        findings.append(Finding(
            f"{task.label}: {first.label()} ran twice for its eta {format_seconds(first.eta_at)}"
            f", at {format_seconds(first.started_at)} on {first.worker or '?'} and at "
            f"{format_seconds(second.started_at)} on {second.worker or '?'}",
            task.task_id, tuple(history.windows_around(first.received_at, second.started_at)),
        ))  # fmt: skip
    return findings


@register_invariant("eta")
def check_eta(history: RunHistory) -> Verdict:
    """No ETA task starts before its eta; none runs twice for one eta (unless at-least-once)."""
    findings = []
    counts: dict[str, int] = defaultdict(int)
    for task in history.tasks.values():
        if any(a.eta_at is not None for a in task.executions):
            counts["tasks"] += 1
            findings += _eta_findings(history, task)
    return verdict_from_findings(
        "eta",
        findings,
        expected=f"no start before the eta (-{EARLY_SECONDS:g} s{dilated_note(history)}), one "
        "execution per eta (lateness: see invariant:liveness)",
        observed=f"{len(findings)} broken in {counts['tasks']} ETA tasks",
        held=f"{counts['tasks']} ETA tasks, each started at or after its eta, once",
    )
