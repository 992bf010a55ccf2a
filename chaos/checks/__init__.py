"""The checker: each invariant a small named function over a RunHistory that returns a Verdict.

A scenario names checks and their parameters as data (``{"check": "no_lost"}``,
``{"check": "retries_as_declared", "tolerance": 0.5}``); ``run_checks`` looks each up in
``CHECKS`` and calls it. A check never raises for what the system did: it says so in its verdict.
Bad parameters are a ConfigError naming the expectation and the parameter.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from chaos.checks.verdict import Verdict
from chaos.errors import ConfigError, Problem
from chaos.history.model import RunHistory

Check = Callable[..., Verdict]

#: Every check by the name a scenario uses; filled by the modules below as they register.
CHECKS: dict[str, Check] = {}


def register(name: str) -> Callable[[Check], Check]:
    """Name a check function in CHECKS."""

    def add(function: Check) -> Check:
        CHECKS[name] = function
        return function

    return add


def _as_mapping(expectation: Any) -> Mapping[str, Any]:
    if isinstance(expectation, Mapping):
        return expectation
    if hasattr(expectation, "as_entry"):  # the scenario's Expectation model
        return expectation.as_entry()
    if hasattr(expectation, "model_dump"):  # another pydantic model
        return expectation.model_dump(exclude_none=True)
    if isinstance(expectation, str):
        return {"check": expectation}
    raise ConfigError(
        [
            Problem(
                "an expectation must be a mapping",
                given=repr(expectation),
                expected="{check: NAME, ...}",
            )
        ]
    )


def resolve(expectations: Sequence[Any]) -> list[tuple[Check, str, dict[str, Any]]]:
    """Look up every expectation's check and validate its parameters, reporting all problems."""
    problems: list[Problem] = []
    resolved = []
    for index, raw in enumerate(expectations):
        expectation = dict(_as_mapping(raw))
        where = f"expectations[{index}]"
        name = expectation.pop("check", None)
        if name not in CHECKS:
            close = ", ".join(sorted(CHECKS))
            problems.append(
                Problem(
                    "unknown check",
                    field_path=f"{where}.check",
                    given=repr(name),
                    expected=f"one of {close}",
                )
            )
            continue
        function = CHECKS[name]
        accepted = [
            p.name for p in inspect.signature(function).parameters.values() if p.name != "history"
        ]
        for key in expectation:
            if key not in accepted:
                problems.append(
                    Problem(
                        f"check {name!r} takes no parameter {key!r}",
                        field_path=f"{where}.{key}",
                        expected=f"one of {', '.join(accepted) or '(none)'}",
                    )
                )
        resolved.append((function, name, expectation))
    if problems:
        raise ConfigError(problems)
    return resolved


def run_checks(history: RunHistory, expectations: Sequence[Any]) -> list[Verdict]:
    """One verdict per expectation, in the scenario's order."""
    verdicts = []
    for function, name, params in resolve(expectations):
        verdict = function(history, **params)
        verdict.name = name
        verdict.params = dict(params)
        verdicts.append(verdict)
    return verdicts


# The modules that define checks register them on import.
from chaos.checks import delivery, enqueue, resume, retries, sanity  # noqa: F401
from chaos.checks.table import render_verdicts, verdict_table

#: What ``chaos check`` runs on a run directory that names no expectations.
DEFAULT_EXPECTATIONS: list[dict[str, Any]] = [
    {"check": "delivery"},
    {"check": "retries_as_declared"},
    {"check": "sanity"},
]

__all__ = [
    "CHECKS",
    "DEFAULT_EXPECTATIONS",
    "Check",
    "Verdict",
    "register",
    "render_verdicts",
    "resolve",
    "run_checks",
    "verdict_table",
]
