"""The retry specification, from what the task declares (the probe records its policy).

Measured Celery semantics this encodes (reference/celery-redis-failure-facts.md §5): attempt
numbers are ``request.retries``, 0-based; a retry is a new message with the same task id;
``self.retry(exc=e)`` ends with the original exception after the last retry, ``self.retry()``
without ``exc`` with ``MaxRetriesExceededError``; autoretry with ``retry_backoff`` draws a
countdown of at most ``min(retry_backoff_max, factor * 2**n)`` (from ``[0, that]`` with jitter);
with no countdown at all ``default_retry_delay`` applies.

Where the scenario pins a policy (``pin: {max_retries: 3, countdown: 60}``, see
``chaos.checks.pins``), the declaration must still say what was pinned, and attempts and gaps are
judged against the pin, never the declaration. ``args:``/``kwargs:`` limit an expectation to one
call: they are matched against the ``args_digest`` the probe journals with every attempt.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chaos.checks.pins import (
    CELERY_DEFAULT_BACKOFF_MAX,
    CELERY_DEFAULT_RETRY_DELAY,
    RetryPin,
    retry_parameter_problems,
    same_exception,
    show,
)
from chaos.checks.registry import register
from chaos.checks.verdict import (
    NO_FINDINGS,
    Finding,
    Verdict,
    messages_by_task,
    verdict_from_findings,
)
from chaos.errors import ConfigError
from chaos.history.model import Attempt, RunHistory, TaskHistory, format_seconds
from chaos.journal import args_digest

MAX_RETRIES_EXCEEDED = "celery.exceptions.MaxRetriesExceededError"
RETRY_SIGNAL_TYPES = frozenset({"celery.exceptions.Retry", "Retry", None, ""})
STATE_BY_OUTCOME = {"success": "SUCCESS", "failure": "FAILURE"}
#: How much of an exception's message a verdict quotes.
EXC_MESSAGE_CHARS = 120


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


def _pinned_gap(
    where: str, gap: float, countdown: float, tolerance: float, late: float | None
) -> list[str]:
    """The wait between a retry and the next attempt against the scenario's pinned countdown."""
    source = f"pinned countdown {countdown:.2f} s"
    if gap < countdown - tolerance:
        return [f"{where}, sooner than its {source} (tolerance {tolerance:.2f} s)"]
    if late is not None and gap > countdown + late:
        return [f"{where}, later than its {source} + {late:.2f} s"]
    return []


def _check_gap(
    seen: AttemptsSeen, before: Attempt, after: Attempt, tolerance: float, late: float | None
) -> list[str]:
    """The wait between a retry and the next attempt against the countdown the policy implies
    (the pinned countdown wherever the scenario pins one)."""
    problems: list[str] = []
    task, policy = seen.task, seen.policy
    retried = _retry_point(before)
    if retried is None or after.started_at is None:
        return problems
    gap = after.started_at - retried
    n = before.attempt or 0
    where = f"{task.label}: attempt {n + 1} started {gap:.2f} s after attempt {n}'s retry"
    if seen.pinned_countdown is not None:
        return _pinned_gap(where, gap, seen.pinned_countdown, tolerance, late)
    bound = backoff_bound(policy, n) if _is_autoretry(policy, before.exc_type) else None
    # Celery's autoretry reads retry_jitter with a default of True; the probe records None then.
    jitter = policy.get("retry_jitter")
    jitter = True if jitter is None else bool(jitter)
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


def exception_text(attempt: Attempt) -> str:
    """``builtins.NameError: name 'x' is not defined``: an attempt's exception as verdicts quote
    it (the first line of its message, shortened)."""
    text = attempt.exc_type or "an unrecorded exception"
    message = (attempt.exc_message or "").strip().splitlines()
    if message:
        first = message[0]
        if len(first) > EXC_MESSAGE_CHARS:
            first = first[: EXC_MESSAGE_CHARS - 3] + "..."
        text += f": {first}"
    return text


@dataclass(slots=True)
class AttemptsSeen:
    """One task's executions as the retry rules read them: the first execution of each attempt
    number, the numbers in order, the policy they are judged against (the declared one, with the
    scenario's pinned fields over it), its max_retries and the attempt that ended the task."""

    task: TaskHistory
    first_by_number: dict[int, Attempt]
    numbers: list[int]
    policy: Mapping[str, Any]
    max_retries: Any
    final: Attempt | None
    """The attempt that ended the task (None while it has not ended)."""
    pinned_countdown: float | None = None
    """What every retry must wait, where the scenario pins it (else the retry's own countdown)."""

    @classmethod
    def of(cls, task: TaskHistory, pin: RetryPin | None = None) -> AttemptsSeen | None:
        """None for a task no execution of which carries an attempt number."""
        first_by_number: dict[int, Attempt] = {}
        for attempt in task.executions:
            if attempt.attempt is not None and attempt.attempt not in first_by_number:
                first_by_number[attempt.attempt] = attempt
        if not first_by_number:
            return None
        policy = task.policy if pin is None else pin.effective(task.policy)
        final = task.final_attempt
        return cls(
            task=task,
            first_by_number=first_by_number,
            numbers=sorted(first_by_number),
            policy=policy,
            max_retries=policy.get("max_retries", 3) if policy else None,
            final=final if final is not None and task.completed else None,
            pinned_countdown=None if pin is None else pin.countdown,
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


def _why_it_stopped(seen: AttemptsSeen) -> str:
    """What ended the attempts early: the last execution's exception, a retry that never ran,
    an attempt that never finished ("" when it succeeded)."""
    last = seen.task.executions[-1]
    if last.outcome == "failure":
        return f": {last.label()} failed with {exception_text(last)}"
    if last.outcome == "retry":
        return (
            f": {last.label()} retried at {format_seconds(_retry_point(last))}, the next attempt "
            "never started"
        )
    if last.outcome is None:
        return f": {last.label()} started at {format_seconds(last.started_at)}, never finished"
    if last.outcome != "success":
        return f": {last.label()} was {last.outcome}"
    return ""


def attempt_count_off(seen: AttemptsSeen, attempts: int | None) -> Sequence[Finding]:
    """Not the number of attempts the scenario expects (too few: with what stopped them)."""
    if attempts is None or len(seen.numbers) == attempts:
        return NO_FINDINGS
    cause = _why_it_stopped(seen) if len(seen.numbers) < attempts else ""
    return [
        seen.finding(f"{seen.task.label}: {len(seen.numbers)} attempts, expected {attempts}{cause}")
    ]


def retry_gaps_off(seen: AttemptsSeen, tolerance: float, late: float | None) -> Sequence[Finding]:
    """A wait between a retry and the next attempt off the countdown the policy implies."""
    if len(seen.numbers) <= 1:
        return NO_FINDINGS
    first_by_number = seen.first_by_number
    return [
        seen.finding(problem)
        for n in seen.numbers
        if n + 1 in first_by_number
        for problem in _check_gap(seen, first_by_number[n], first_by_number[n + 1], tolerance, late)
    ]


def _asked_countdown(attempt: Attempt) -> tuple[float | None, bool]:
    """The countdown a retry asked for, and whether it is known exactly: the probe journals the
    countdown itself, or only the eta (then it is measured from the task_retry signal)."""
    if attempt.countdown is not None:
        return attempt.countdown, True
    retried = _retry_point(attempt)
    if attempt.retry_eta_at is not None and retried is not None:
        return attempt.retry_eta_at - retried, False
    return None, True


def countdown_off_pin(seen: AttemptsSeen, tolerance: float) -> Sequence[Finding]:
    """A retry that asked for another countdown than the scenario pins (policy drift, judged on
    each retry: the countdown is an argument of ``self.retry``, not part of the declaration)."""
    pinned = seen.pinned_countdown
    if pinned is None:
        return NO_FINDINGS
    findings = []
    for n in seen.numbers:
        before = seen.first_by_number[n]
        if before.outcome != "retry":
            continue
        asked, exact = _asked_countdown(before)
        if asked is not None and abs(asked - pinned) <= (1e-6 if exact else tolerance):
            continue
        what = "no countdown" if asked is None else f"countdown {show(round(asked, 2))} s"
        findings.append(
            seen.finding(
                f"{seen.task.label} asked for {what} before attempt {n + 1}, the scenario pins "
                f"{show(pinned)} s"
            )
        )
    return findings


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
    pin: RetryPin | None = None,
) -> list[Finding]:
    """Every way this task's attempts differ from its retry policy (declared, or pinned by the
    scenario), rule by rule."""
    seen = AttemptsSeen.of(task, pin)
    if seen is None:
        return []
    return [
        *countdown_off_pin(seen, tolerance),
        *attempt_numbers_missing(seen),
        *more_than_max_retries(seen),
        *attempt_count_off(seen, attempts),
        *retry_gaps_off(seen, tolerance, late),
        *final_state_off(seen, final_state),
        *final_exception_off(seen, final_exception),
        *autoretry_abandoned(seen),
    ]


def declaration_off_pin(tasks: Sequence[TaskHistory], pin: RetryPin) -> list[Finding]:
    """Policy drift: each task name whose declared policy no longer says what the scenario pins
    (``risky_task declares max_retries=2, the scenario pins 3``), once per name."""
    findings: list[Finding] = []
    names: set[str] = set()
    for task in tasks:
        name = (task.name or "?").rsplit(".", 1)[-1]
        if name in names:
            continue
        names.add(name)
        if not task.policy:
            if pin.policy:
                message = f"{name}: no declared policy recorded to compare the pin with"
                findings.append(Finding(message, task.task_id))
            continue
        findings += [Finding(f"{name} {drift}", task.task_id) for drift in pin.drift(task.policy)]
    return findings


def call_text(args: Sequence[Any] | None, kwargs: Mapping[str, Any] | None) -> str:
    """``args [2]`` / ``kwargs {order_id: 2}``: a per-call filter as messages name it."""
    parts = []
    if args is not None:
        parts.append(f"args {show(list(args))}")
    if kwargs is not None:
        parts.append("kwargs {" + ", ".join(f"{k}: {show(v)}" for k, v in kwargs.items()) + "}")
    return " and ".join(parts)


def _expected_text(
    tolerance: float,
    attempts: int | None,
    final_state: str | None,
    final_exception: str | None,
    pin: RetryPin | None,
    call: str,
) -> str:
    if pin is None:
        expected = f"attempts as the policy declares, gaps >= countdown - {tolerance:.2f} s"
    else:
        wait = "countdown" if pin.countdown is None else f"{show(pin.countdown)} s"
        expected = (
            f"declared and behaving as pinned ({pin.describe()}), "
            f"gaps >= {wait} - {tolerance:.2f} s"
        )
    if call:
        expected += f", for the calls with {call}"
    if attempts is not None:
        expected += f", {attempts} attempts"
    if final_state:
        expected += f", final {final_state}"
    if final_exception:
        expected += f" with {final_exception}"
    return expected


@register("retries_as_declared", validate=retry_parameter_problems)
def check_retries_as_declared(
    history: RunHistory,
    tolerance: float = 0.5,
    late: float | None = None,
    task: str | None = None,
    attempts: int | None = None,
    final_state: str | None = None,
    final_exception: str | None = None,
    args: list[Any] | None = None,
    kwargs: dict[str, Any] | None = None,
    pin: dict[str, Any] | None = None,
) -> Verdict:
    """Attempts numbered 0, 1, 2 ... at most 1 + max_retries, spaced by the countdown, ending in
    the expected state and exception, judged against the declared policy, or the ``pin`` where
    the scenario gives one (and then the declaration must say what was pinned). ``task`` limits
    it to one task name, ``args``/``kwargs`` to one call."""
    problems = retry_parameter_problems(
        {"tolerance": tolerance, "late": late, "task": task, "attempts": attempts,
         "final_state": final_state, "final_exception": final_exception, "args": args,
         "kwargs": kwargs, "pin": pin}
    )  # fmt: skip
    if problems:
        raise ConfigError(problems)
    pinned = RetryPin.of(pin)
    digest = None if args is None and kwargs is None else args_digest(args or [], kwargs or {})
    matched = [
        t
        for t in history.tasks.values()
        if (task is None or (t.name or "").endswith(task))
        and (digest is None or t.args_digest == digest)
        and t.executed
    ]
    findings: list[Finding] = [] if pinned is None else declaration_off_pin(matched, pinned)
    for history_task in matched:
        quick = pinned is None and attempts is None and final_state is None
        if quick and _succeeded_at_once(history_task):
            continue
        findings += task_problems(
            history_task, tolerance, late, attempts, final_state, final_exception, pinned
        )
    checked = len(matched)
    problems_by_task = messages_by_task(findings)
    ids = list(problems_by_task)
    windows = [w for i in ids for w in history.windows_for_task(history.tasks[i])]
    call = call_text(args, kwargs)
    if not checked and (task is not None or digest is not None or pinned is not None):
        named = f" named {task}" if task is not None else ""
        findings.append(
            Finding(f"no executed task to check{named}" + (f" called with {call}" if call else ""))
        )
    if checked:
        held = f"all {checked} executed tasks attempted as their policy declares"
        if pinned is not None:
            held = f"all {checked} executed tasks declared and attempted as pinned"
    else:
        held = "no executed task to check"
    return verdict_from_findings(
        "retries_as_declared",
        findings,
        expected=_expected_text(tolerance, attempts, final_state, final_exception, pinned, call),
        observed=f"{len(ids)} of {checked} tasks off their "
        + ("policy" if pinned is None else "pinned policy"),
        held=held,
        fault_windows=windows,
        details={"problems": problems_by_task},
    )
