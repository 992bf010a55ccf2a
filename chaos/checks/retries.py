"""The retry specification, from what the task declares (the probe records its policy).

Measured Celery semantics this encodes (reference/celery-redis-failure-facts.md §5): attempt
numbers are ``request.retries``, 0-based; a retry is a new message with the same task id;
``self.retry(exc=e)`` ends with the original exception after the last retry, ``self.retry()``
without ``exc`` with ``MaxRetriesExceededError``; autoretry with ``retry_backoff`` draws a
countdown of at most ``min(retry_backoff_max, factor * 2**n)`` (from ``[0, that]`` with jitter);
with no countdown at all ``default_retry_delay`` applies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chaos.checks.registry import register
from chaos.checks.verdict import Verdict, unique_windows
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


def task_problems(
    task: TaskHistory,
    tolerance: float,
    late: float | None,
    attempts: int | None,
    final_state: str | None,
    final_exception: str | None,
) -> list[str]:
    """Every way this task's attempts differ from its declared retry policy."""
    problems: list[str] = []
    first_by_number: dict[int, Attempt] = {}
    for attempt in task.executions:
        if attempt.attempt is not None and attempt.attempt not in first_by_number:
            first_by_number[attempt.attempt] = attempt
    if not first_by_number:
        return problems
    numbers = sorted(first_by_number)
    if numbers[0] < 0 or numbers[-1] + 1 != len(numbers):  # else exactly 0, 1 ... n
        missing = sorted(set(range(numbers[-1] + 1)) - set(numbers))
        if missing:
            problems.append(
                f"{task.label}: attempt numbers {', '.join(map(str, numbers))} executed, "
                f"{', '.join(map(str, missing))} missing"
            )
    policy = task.policy
    max_retries = policy.get("max_retries", 3) if policy else None
    if max_retries is not None and len(numbers) > 1 + int(max_retries):
        problems.append(
            f"{task.label}: {len(numbers)} attempts, max_retries={max_retries} allows "
            f"{1 + int(max_retries)}"
        )
    if attempts is not None and len(numbers) != attempts:
        problems.append(f"{task.label}: {len(numbers)} attempts, expected {attempts}")
    if len(numbers) > 1:
        for n in numbers:
            if n + 1 in first_by_number:
                after = first_by_number[n + 1]
                problems += _check_gap(task, first_by_number[n], after, tolerance, late)
    final = task.final_attempt
    if final is None or not task.completed:
        return problems
    state = STATE_BY_OUTCOME.get(final.outcome or "", final.outcome)
    if final_state is not None and (state or "").upper() != final_state.upper():
        problems.append(
            f"{task.label}: ended {state} at {format_seconds(final.ended_at)}, "
            f"expected {final_state}"
        )
    if final.outcome != "failure":
        return problems
    exhausted = max_retries is not None and final.attempt == int(max_retries)
    expected_exc = final_exception or (_expected_final_exception(task) if exhausted else None)
    if expected_exc is not None and not same_exception(final.exc_type, expected_exc):
        problems.append(
            f"{task.label}: attempt {final.attempt} failed with {final.exc_type}, expected "
            f"{expected_exc}" + (" after the last retry" if exhausted else "")
        )
    if (
        max_retries is not None
        and final.attempt is not None
        and final.attempt < int(max_retries)
        and _is_autoretry(policy, final.exc_type)
    ):
        problems.append(
            f"{task.label}: attempt {final.attempt} failed with {final.exc_type}, which "
            f"autoretry_for covers, with {int(max_retries) - final.attempt} retries left"
        )
    return problems


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
    problems_by_task: dict[str, list[str]] = {}
    checked = 0
    for history_task in history.tasks.values():
        if task is not None and not (history_task.name or "").endswith(task):
            continue
        if not history_task.executed:
            continue
        checked += 1
        if attempts is None and final_state is None and _succeeded_at_once(history_task):
            continue
        found = task_problems(history_task, tolerance, late, attempts, final_state, final_exception)
        if found:
            problems_by_task[history_task.task_id] = found
    ids = list(problems_by_task)
    all_problems = [p for found in problems_by_task.values() for p in found]
    windows = unique_windows([w for i in ids for w in history.windows_for_task(history.tasks[i])])
    expected = f"attempts as the policy declares, gaps >= countdown - {tolerance:.2f} s"
    if attempts is not None:
        expected += f", {attempts} attempts"
    if final_state:
        expected += f", final {final_state}"
    if final_exception:
        expected += f" with {final_exception}"
    if all_problems:
        message = all_problems[0] + (
            f" (and {len(all_problems) - 1} more)" if len(all_problems) > 1 else ""
        )
    elif checked:
        message = f"all {checked} executed tasks attempted as their policy declares"
    else:
        message = "no executed task to check" + (f" named {task}" if task else "")
    return Verdict(
        name="retries_as_declared",
        ok=not all_problems and (checked > 0 or task is None),
        expected=expected,
        observed=f"{len(ids)} of {checked} tasks off their policy",
        message=message,
        tasks=ids,
        fault_windows=windows,
        details={"problems": problems_by_task},
    )
