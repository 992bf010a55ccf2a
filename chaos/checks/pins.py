"""Pinned retry policies: the policy a scenario states for a task, so that the retry check's oracle
comes from the test and never only from the code under test (a bug that changes ``max_retries=3``
to 2 changes what the task declares, not what the scenario pins).

A pin is judged twice by ``retries_as_declared``: the declaration must still say what was pinned
(policy drift), and the behaviour is measured against the pin wherever one is given. This module
holds the pin's vocabulary, the validation of a ``retries_as_declared`` expectation's values, and
the drift comparison; the behaviour rules live in ``chaos.checks.retries``.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chaos.errors import Problem

#: Celery's values where a task declares nothing (the probe records None then).
CELERY_DEFAULT_RETRY_DELAY = 180.0
CELERY_DEFAULT_BACKOFF_MAX = 600.0

#: Celery's final states a task can end in, as ``final_state`` names them.
FINAL_STATES = ("SUCCESS", "FAILURE", "REVOKED", "REJECTED")


def same_exception(observed: str | None, expected: str) -> bool:
    """``builtins.ValueError`` matches ``ValueError`` and itself; modules compared if both given."""
    if observed is None:
        return False
    if "." in expected and "." in observed:
        return observed == expected
    return observed.rsplit(".", 1)[-1] == expected.rsplit(".", 1)[-1]


def show(value: Any) -> str:
    """A value as a scenario file writes it: ``3``, ``60``, ``true``, ``null``, ``[a, b]``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(show(v) for v in value) + "]"
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# --- what each pinnable field accepts, and how a declaration is read for it ---------------------


def _count_or_null(value: Any) -> bool:
    return value is None or (type(value) is int and value >= 0)


def _seconds(value: Any) -> bool:
    return _is_number(value) and value >= 0


def _flag(value: Any) -> bool:
    return isinstance(value, bool)


def _backoff(value: Any) -> bool:
    return isinstance(value, bool) or (_is_number(value) and value >= 0)


def _exception_names(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v for v in value)


def backoff_factor(value: Any) -> float:
    """Celery's ``retry_backoff``: True is a factor of 1, False (or nothing) no backoff."""
    if value is True:
        return 1.0
    if not value:
        return 0.0
    return float(value)


def _or_default(default: float) -> Callable[[Any], Any]:
    """A declared number of seconds, Celery's default where the task declares none."""
    return lambda value: default if value is None else value


def _close(declared: Any, pinned: Any) -> bool:
    return _is_number(declared) and abs(declared - pinned) < 1e-6


def _same_exceptions(declared: Any, pinned: Sequence[str]) -> bool:
    declared = list(declared or ())
    return all(any(same_exception(d, p) for d in declared) for p in pinned) and all(
        any(same_exception(d, p) for p in pinned) for d in declared
    )


@dataclass(frozen=True, slots=True)
class PinnableField:
    """One field a scenario may pin: what it accepts, and how the declaration compares to it."""

    accepts: Callable[[Any], bool]
    expected: str
    declared: Callable[[Any], Any] = lambda value: value
    """The declared value as Celery applies it (its default where the task declares nothing)."""
    same: Callable[[Any, Any], bool] = lambda declared, pinned: declared == pinned


#: Every field a pin may state. ``countdown`` is not part of a declaration: it is what the task's
#: ``self.retry(countdown=...)`` asks, compared with each retry instead.
PINNABLE: dict[str, PinnableField] = {
    "max_retries": PinnableField(_count_or_null, "a whole number of 0 or more, or null (no limit)"),
    "countdown": PinnableField(_seconds, "seconds, 0 or more"),
    "default_retry_delay": PinnableField(
        _seconds,
        "seconds, 0 or more",
        declared=_or_default(CELERY_DEFAULT_RETRY_DELAY),
        same=_close,
    ),
    "retry_backoff": PinnableField(
        _backoff,
        "true, false or a factor in seconds",
        same=lambda d, p: (
            (d is None or _backoff(d)) and _close(backoff_factor(d), backoff_factor(p))
        ),
    ),
    "retry_backoff_max": PinnableField(
        _seconds,
        "seconds, 0 or more",
        declared=_or_default(CELERY_DEFAULT_BACKOFF_MAX),
        same=_close,
    ),
    # Celery's autoretry reads retry_jitter with a default of True; the probe records None then.
    "retry_jitter": PinnableField(
        _flag, "true or false", declared=lambda v: True if v is None else v
    ),
    "autoretry_for": PinnableField(
        _exception_names,
        "a list of exception names (builtins.ConnectionError)",
        declared=lambda v: list(v or ()),
        same=_same_exceptions,
    ),
    "acks_late": PinnableField(_flag, "true or false", declared=bool),
    "reject_on_worker_lost": PinnableField(_flag, "true or false", declared=bool),
}


@dataclass(frozen=True, slots=True)
class RetryPin:
    """A validated pin: the policy fields it states, and the countdown each retry must wait."""

    policy: Mapping[str, Any] = field(default_factory=dict)
    countdown: float | None = None
    stated: Mapping[str, Any] = field(default_factory=dict)
    """Every pinned field in the scenario's order (what messages list)."""

    @classmethod
    def of(cls, pin: Mapping[str, Any] | None) -> RetryPin | None:
        if pin is None:
            return None
        policy = {k: v for k, v in pin.items() if k != "countdown"}
        countdown = pin.get("countdown")
        return cls(policy, None if countdown is None else float(countdown), dict(pin))

    def effective(self, declared: Mapping[str, Any]) -> dict[str, Any]:
        """The policy behaviour is judged against: the pin's fields over the declaration's."""
        return {**declared, **self.policy}

    def drift(self, declared: Mapping[str, Any]) -> list[str]:
        """``declares max_retries=2, the scenario pins 3``: each pinned field the declaration
        (read as Celery applies it) no longer says."""
        problems = []
        for name, pinned in self.policy.items():
            spec = PINNABLE[name]
            value = spec.declared(declared.get(name))
            if not spec.same(value, pinned):
                problems.append(f"declares {name}={show(value)}, the scenario pins {show(pinned)}")
        return problems

    def describe(self) -> str:
        """``max_retries=3, countdown=60 s``: the pin as a verdict's expected column says it."""
        return ", ".join(
            f"{name}={show(value)}" + (" s" if name == "countdown" else "")
            for name, value in self.stated.items()
        )


# --- validation of a retries_as_declared expectation's values -----------------------------------


def _problem(
    path: str, message: str, given: Any, expected: str, hint: str | None = None
) -> Problem:
    return Problem(message, field_path=path, given=repr(given), expected=expected, hint=hint)


def _pin_problems(pin: Any) -> list[Problem]:
    if not isinstance(pin, Mapping):
        return [
            _problem("pin", "a pin is a mapping of policy fields", pin, "{max_retries: 3, ...}")
        ]
    problems = []
    for name, value in pin.items():
        spec = PINNABLE.get(name)
        if spec is None:
            close = difflib.get_close_matches(str(name), PINNABLE, n=1)
            problems.append(
                Problem(
                    f"unknown pin field {name!r}",
                    field_path=f"pin.{name}",
                    expected=f"one of {', '.join(sorted(PINNABLE))}",
                    hint=f"did you mean {close[0]!r}?" if close else None,
                )
            )
        elif not spec.accepts(value):
            problems.append(_problem(f"pin.{name}", "wrong type or value", value, spec.expected))
    if not pin:
        problems.append(_problem("pin", "an empty pin pins nothing", pin, "at least one field"))
    if pin.get("countdown") is not None and backoff_factor(pin.get("retry_backoff")) > 0:
        problems.append(
            Problem(
                "pin countdown (a fixed wait) or retry_backoff (Celery draws the wait), not both",
                field_path="pin.countdown",
            )
        )
    return problems


#: The other parameters of retries_as_declared: what each accepts.
PARAMETER_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "tolerance": (_seconds, "seconds, 0 or more"),
    "late": (_seconds, "seconds, 0 or more"),
    "task": (lambda v: isinstance(v, str) and bool(v), "a task name (risky_task)"),
    "args": (lambda v: isinstance(v, list), "a list of the call's positional arguments ([2])"),
    "kwargs": (
        lambda v: isinstance(v, Mapping) and all(isinstance(k, str) for k in v),
        "a mapping of the call's keyword arguments ({order_id: 2})",
    ),
    "attempts": (lambda v: type(v) is int and v >= 1, "a whole number of 1 or more"),
    "final_state": (
        lambda v: isinstance(v, str) and v.upper() in FINAL_STATES,
        f"one of {', '.join(FINAL_STATES)}",
    ),
    "final_exception": (
        lambda v: isinstance(v, str) and bool(v),
        "an exception name (builtins.ConnectionError)",
    ),
}

#: Parameters that may be given as null (the same as not given).
NULLABLE = frozenset(PARAMETER_RULES) - {"tolerance"}


def retry_parameter_problems(params: Mapping[str, Any]) -> list[Problem]:
    """Every wrong value of a retries_as_declared expectation, with the field it is in."""
    problems = []
    for name, (accepts, expected) in PARAMETER_RULES.items():
        if name not in params or (params[name] is None and name in NULLABLE):
            continue
        if not accepts(params[name]):
            problems.append(_problem(name, "wrong type or value", params[name], expected))
    if params.get("pin") is not None:
        problems += _pin_problems(params["pin"])
    return problems
