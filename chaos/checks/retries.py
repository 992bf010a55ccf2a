"""The retry specification, from what the task declares (the probe records its policy).

Measured Celery semantics this encodes (reference/celery-redis-failure-facts.md §5): attempt
numbers are ``request.retries``, 0-based; a retry is a new message with the same task id;
``self.retry(exc=e)`` ends with the original exception after the last retry, ``self.retry()``
without ``exc`` with ``MaxRetriesExceededError``; autoretry with ``retry_backoff`` draws a
countdown of at most ``min(retry_backoff_max, factor * 2**n)`` (from ``[0, that]`` with jitter);
with no countdown at all ``default_retry_delay`` applies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chaos.checks.registry import register
from chaos.checks.verdict import (
    NO_FINDINGS,
    Finding,
    Verdict,
    messages_by_task,
    verdict_from_findings,
)
from chaos.history.model import Attempt, RunHistory, TaskHistory, format_seconds

MAX_RETRIES_EXCEEDED = "celery.exceptions.MaxRetriesExceededError"
RETRY_SIGNAL_TYPES = frozenset({"celery.exceptions.Retry", "Retry", None, ""})
CELERY_DEFAULT_RETRY_DELAY = 180.0
CELERY_DEFAULT_BACKOFF_MAX = 600.0
STATE_BY_OUTCOME = {"success": "SUCCESS", "failure": "FAILURE"}


def same_exception(observed: str | None, expected: str) -> bool:
    """``builtins.ValueError`` matches ``ValueError`` and itself; modules compared if both given."""
    if observed is None:
        return False
    if "." in expected and "." in observed:
        return observed == expected
    return observed.rsplit(".", 1)[-1] == expected.rsplit(".", 1)[-1]


def backoff_bound(policy: Mapping[str, Any], retries: int) -> float | None:
    """Celery's largest autoretry countdown before retry ``retries + 1`` (None: no backoff)."""
    factor = policy.get("retry_backoff")
    if not factor:
        return None
    factor = 1.0 if factor is True else float(factor)
    maximum = policy.get("retry_backoff_max")
    maximum = CELERY_DEFAULT_BACKOFF_MAX if maximum is None else float(maximum)
    return min(maximum, factor * 2**retries)


def _is_autoretry(policy: Mapping[str, Any], exc_type: str | None) -> bool:
    declared = policy.get("autoretry_for") or ()
    return any(same_exception(exc_type, name) for name in declared)


def _retry_point(attempt: Attempt) -> float | None:
    return attempt.retried_at if attempt.retried_at is not None else attempt.ended_at


def _check_gap(
    task: TaskHistory, before: Attempt, after: Attempt, tolerance: float, late: float | None
) -> list[str]:
    """The wait between a retry and the next attempt against the countdown the policy implies."""
    problems = []
    policy = task.policy
    retried = _retry_point(before)
    if retried is None or after.started_at is None:
        return problems
    gap = after.started_at - retried
    n = before.attempt or 0
    bound = backoff_bound(policy, n) if _is_autoretry(policy, before.exc_type) else None
    # Celery's autoretry reads retry_jitter with a default of True; the probe records None then.
    jitter = policy.get("retry_jitter")
    jitter = True if jitter is None else bool(jitter)
    where = f"{task.label}: attempt {n + 1} started {gap:.2f} s after attempt {n}'s retry"
    if before.countdown is not None:
        lowest = before.countdown
        if bound is not None and jitter and not (-1e-6 <= before.countdown <= bound + 1e-6):
            problems.append(
                f"{task.label}: attempt {n} asked for a countdown of {before.countdown:.2f} s, "
                f"outside the backoff policy's [0, {bound:.2f}] s"
            )
        if bound is not None and not jitter and abs(before.countdown - bound) > 1e-6:
            problems.append(
                f"{task.label}: attempt {n} asked for a countdown of {before.countdown:.2f} s, "
                f"the backoff policy without jitter gives {bound:.2f} s"
            )
        source = f"countdown {before.countdown:.2f} s"
    elif before.retry_eta_at is not None:
        lowest = before.retry_eta_at - retried
        source = f"eta {format_seconds(before.retry_eta_at)}"
    elif bound is not None:
        lowest = 0.0 if jitter else bound
        source = f"backoff bound {bound:.2f} s" + (" with jitter" if jitter else "")
        if late is not None and gap > bound + late:
            problems.append(f"{where}, later than the backoff bound {bound:.2f} s + {late:.2f} s")
    else:
        delay = policy.get("default_retry_delay")
        lowest = CELERY_DEFAULT_RETRY_DELAY if delay is None else float(delay)
        source = f"default_retry_delay {lowest:.2f} s"
    if gap < lowest - tolerance:
        problems.append(f"{where}, sooner than its {source} (tolerance {tolerance:.2f} s)")
    elif late is not None and bound is None and gap > lowest + late:
        problems.append(f"{where}, later than its {source} + {late:.2f} s")
    return problems


def _expected_final_exception(task: TaskHistory) -> str | None:
    """What Celery raises once retries run out: the retried exception or MaxRetriesExceeded."""
    retried = [a for a in task.executions if a.outcome == "retry"]
    if not retried:
        return None
    last = retried[-1].exc_type
    return MAX_RETRIES_EXCEEDED if last in RETRY_SIGNAL_TYPES else last


def _succeeded_at_once(task: TaskHistory) -> bool:
    """One attempt, numbered 0, that succeeded, under a policy allowing at least one: nothing
    ``task_problems`` could find (most tasks of a run; checked first because it is cheap)."""
    if len(task.attempts) != 1:
        return False
    only = task.attempts[0]
    if only.attempt != 0 or only.outcome != "success" or only.started_at is None:
        return False
    max_retries = only.policy.get("max_retries", 3) if only.policy else None
    return max_retries is None or (type(max_retries) is int and max_retries >= 0)


@dataclass(slots=True)
class AttemptsSeen:
    """One task's executions as the retry rules read them: the first execution of each attempt
    number, the numbers in order, the declared max_retries and the attempt that ended the task."""

    task: TaskHistory
    first_by_number: dict[int, Attempt]
    numbers: list[int]
    policy: Mapping[str, Any]
    max_retries: Any
    final: Attempt | None
    """The attempt that ended the task (None while it has not ended)."""

    @classmethod
    def of(cls, task: TaskHistory) -> AttemptsSeen | None:
        """None for a task no execution of which carries an attempt number."""
        first_by_number: dict[int, Attempt] = {}
        for attempt in task.executions:
            if attempt.attempt is not None and attempt.attempt not in first_by_number:
                first_by_number[attempt.attempt] = attempt
        if not first_by_number:
            return None
        policy = task.policy
        final = task.final_attempt
        return cls(
            task=task,
            first_by_number=first_by_number,
            numbers=sorted(first_by_number),
            policy=policy,
            max_retries=policy.get("max_retries", 3) if policy else None,
            final=final if final is not None and task.completed else None,
        )

    def finding(self, message: str) -> Finding:
        return Finding(message, self.task.task_id)


def attempt_numbers_missing(seen: AttemptsSeen) -> Sequence[Finding]:
    """Attempt numbers not exactly 0, 1 ... n."""
    numbers = seen.numbers
    if not (numbers[0] < 0 or numbers[-1] + 1 != len(numbers)):
        return NO_FINDINGS
    missing = sorted(set(range(numbers[-1] + 1)) - set(numbers))
    if not missing:
        return NO_FINDINGS
    return [
        seen.finding(
            f"{seen.task.label}: attempt numbers {', '.join(map(str, numbers))} executed, "
            f"{', '.join(map(str, missing))} missing"
        )
    ]


def more_than_max_retries(seen: AttemptsSeen) -> Sequence[Finding]:
    """More attempts than 1 + max_retries."""
    max_retries, numbers = seen.max_retries, seen.numbers
    if max_retries is None or len(numbers) <= 1 + int(max_retries):
        return NO_FINDINGS
    return [
        seen.finding(
            f"{seen.task.label}: {len(numbers)} attempts, max_retries={max_retries} allows "
            f"{1 + int(max_retries)}"
        )
    ]


def attempt_count_off(seen: AttemptsSeen, attempts: int | None) -> Sequence[Finding]:
    """Not the number of attempts the scenario expects."""
    if attempts is None or len(seen.numbers) == attempts:
        return NO_FINDINGS
    return [seen.finding(f"{seen.task.label}: {len(seen.numbers)} attempts, expected {attempts}")]


def retry_gaps_off(seen: AttemptsSeen, tolerance: float, late: float | None) -> Sequence[Finding]:
    """A wait between a retry and the next attempt off the countdown the policy implies."""
    if len(seen.numbers) <= 1:
        return NO_FINDINGS
    first_by_number = seen.first_by_number
    return [
        seen.finding(problem)
        for n in seen.numbers
        if n + 1 in first_by_number
        for problem in _check_gap(
            seen.task, first_by_number[n], first_by_number[n + 1], tolerance, late
        )
    ]


def final_state_off(seen: AttemptsSeen, final_state: str | None) -> Sequence[Finding]:
    """The task ended in another state than the scenario expects."""
    final = seen.final
    if final is None or final_state is None:
        return NO_FINDINGS
    state = STATE_BY_OUTCOME.get(final.outcome or "", final.outcome)
    if (state or "").upper() == final_state.upper():
        return NO_FINDINGS
    return [
        seen.finding(
            f"{seen.task.label}: ended {state} at {format_seconds(final.ended_at)}, "
            f"expected {final_state}"
        )
    ]


def final_exception_off(seen: AttemptsSeen, final_exception: str | None) -> Sequence[Finding]:
    """The task failed with another exception than expected: the scenario's, else, once retries
    ran out, the retried exception or MaxRetriesExceededError."""
    final, max_retries = seen.final, seen.max_retries
    if final is None or final.outcome != "failure":
        return NO_FINDINGS
    exhausted = max_retries is not None and final.attempt == int(max_retries)
    expected_exc = final_exception or (_expected_final_exception(seen.task) if exhausted else None)
    if expected_exc is None or same_exception(final.exc_type, expected_exc):
        return NO_FINDINGS
    return [
        seen.finding(
            f"{seen.task.label}: attempt {final.attempt} failed with {final.exc_type}, expected "
            f"{expected_exc}" + (" after the last retry" if exhausted else "")
        )
    ]


def autoretry_abandoned(seen: AttemptsSeen) -> Sequence[Finding]:
    """The task failed with an exception autoretry_for covers while retries were left."""
    final, max_retries = seen.final, seen.max_retries
    if (
        final is None
        or final.outcome != "failure"
        or max_retries is None
        or final.attempt is None
        or final.attempt >= int(max_retries)
        or not _is_autoretry(seen.policy, final.exc_type)
    ):
        return NO_FINDINGS
    return [
        seen.finding(
            f"{seen.task.label}: attempt {final.attempt} failed with {final.exc_type}, which "
            f"autoretry_for covers, with {int(max_retries) - final.attempt} retries left"
        )
    ]


def task_problems(
    task: TaskHistory,
    tolerance: float,
    late: float | None,
    attempts: int | None,
    final_state: str | None,
    final_exception: str | None,
) -> list[Finding]:
    """Every way this task's attempts differ from its declared retry policy, rule by rule."""
    seen = AttemptsSeen.of(task)
    if seen is None:
        return []
    return [
        *attempt_numbers_missing(seen),
        *more_than_max_retries(seen),
        *attempt_count_off(seen, attempts),
        *retry_gaps_off(seen, tolerance, late),
        *final_state_off(seen, final_state),
        *final_exception_off(seen, final_exception),
        *autoretry_abandoned(seen),
    ]


@register("retries_as_declared")
def check_retries_as_declared(
    history: RunHistory,
    tolerance: float = 0.5,
    late: float | None = None,
    task: str | None = None,
    attempts: int | None = None,
    final_state: str | None = None,
    final_exception: str | None = None,
) -> Verdict:
    """Attempts numbered 0, 1, 2 ... at most 1 + max_retries, spaced by the declared countdown,
    ending in the declared state and exception. ``task`` limits it to one task name."""
    findings: list[Finding] = []
    checked = 0
    for history_task in history.tasks.values():
        if task is not None and not (history_task.name or "").endswith(task):
            continue
        if not history_task.executed:
            continue
        checked += 1
        if attempts is None and final_state is None and _succeeded_at_once(history_task):
            continue
        findings += task_problems(
            history_task, tolerance, late, attempts, final_state, final_exception
        )
    problems_by_task = messages_by_task(findings)
    ids = list(problems_by_task)
    windows = [w for i in ids for w in history.windows_for_task(history.tasks[i])]
    if not checked and task is not None:
        findings.append(Finding(f"no executed task to check named {task}"))
    expected = f"attempts as the policy declares, gaps >= countdown - {tolerance:.2f} s"
    if attempts is not None:
        expected += f", {attempts} attempts"
    if final_state:
        expected += f", final {final_state}"
    if final_exception:
        expected += f" with {final_exception}"
    if checked:
        held = f"all {checked} executed tasks attempted as their policy declares"
    else:
        held = "no executed task to check"
    return verdict_from_findings(
        "retries_as_declared",
        findings,
        expected=expected,
        observed=f"{len(ids)} of {checked} tasks off their policy",
        held=held,
        fault_windows=windows,
        details={"problems": problems_by_task},
    )
