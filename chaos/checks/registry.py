"""The check registry: every check by the name a scenario uses, and the lookup that turns a
scenario's expectations into verdicts.

A check module registers its functions here with ``@register("name")``; importing
``chaos.checks`` imports every check module, so ``CHECKS`` is complete once the package is
imported. Kept apart from the package's ``__init__`` so that a check module depends on this
module alone and the package imports the check modules without an import cycle.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from chaos.checks.judge import ALLOW_UNEXERCISED, judge
from chaos.checks.promises import KEY as KNOWN_BROKEN_KEY
from chaos.checks.promises import (
    apply_known_broken,
    apply_scenario_known_broken,
    known_broken_problems,
    split_known_broken,
)
from chaos.checks.verdict import Verdict
from chaos.errors import ConfigError, Problem
from chaos.history.model import RunHistory

Check = Callable[..., Verdict]

#: Every check by the name a scenario uses; filled by the check modules as they are imported.
CHECKS: dict[str, Check] = {}

#: A check's own rules for its parameters' values (types, ranges, nested keys), by check name:
#: each returns Problems whose ``field_path`` is relative to the expectation (``pin.max_retries``).
VALIDATORS: dict[str, Callable[[Mapping[str, Any]], list[Problem]]] = {}


def register(
    name: str, validate: Callable[[Mapping[str, Any]], list[Problem]] | None = None
) -> Callable[[Check], Check]:
    """Name a check function in CHECKS (and, if given, the rules for its parameters' values)."""

    def add(function: Check) -> Check:
        CHECKS[name] = function
        if validate is not None:
            VALIDATORS[name] = validate
        return function

    return add


def parameter_problems(name: str, params: Mapping[str, Any]) -> list[Problem]:
    """What is wrong with the values of a known check's parameters (names are checked apart)."""
    validate = VALIDATORS.get(name)
    return [] if validate is None else validate(params)


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
        if KNOWN_BROKEN_KEY in expectation:  # any expectation may say its promise is broken
            for problem in known_broken_problems(expectation[KNOWN_BROKEN_KEY]):
                problems.append(replace(problem, field_path=f"{where}.{problem.field_path}"))
        expectation, _ = split_known_broken(expectation)
        accepted = [
            p.name for p in inspect.signature(function).parameters.values() if p.name != "history"
        ]
        for key in expectation:
            if key == ALLOW_UNEXERCISED:
                if not isinstance(expectation[key], bool):
                    problems.append(Problem(f"{key} is true or false", field_path=f"{where}.{key}",
                                            given=repr(expectation[key])))  # fmt: skip
                continue
            if key not in accepted:
                problems.append(
                    Problem(
                        f"check {name!r} takes no parameter {key!r}",
                        field_path=f"{where}.{key}",
                        expected=f"one of {', '.join(accepted) or '(none)'}",
                    )
                )
        for problem in parameter_problems(name, expectation):
            problems.append(replace(problem, field_path=f"{where}.{problem.field_path}"))
        resolved.append((function, name, expectation))
    if problems:
        raise ConfigError(problems)
    return resolved


#: The always-on invariants by name (``relax:`` keys): checked on every run when asked, on top
#: of the scenario's expectations; filled by ``chaos.checks.invariants`` as it is imported.
INVARIANTS: dict[str, Check] = {}


def register_invariant(name: str) -> Callable[[Check], Check]:
    """Name an invariant in INVARIANTS; its verdict is reported as ``invariant:<name>``."""

    def add(function: Check) -> Check:
        INVARIANTS[name] = function
        return function

    return add


def run_checks(
    history: RunHistory,
    expectations: Sequence[Any],
    known_broken: str | None = None,
    *,
    invariants: bool = False,
    relax: Mapping[str, str] | None = None,
) -> list[Verdict]:
    """One verdict per expectation, in the scenario's order. A held verdict the run did not
    exercise is "not exercised" unless its expectation allows it (``chaos.checks.judge``); then an
    expectation's ``known_broken`` (or the scenario's, given here) turns its failure into KNOWN
    BROKEN and its success into a failure (``chaos.checks.promises``). With ``invariants``, one
    verdict per always-on invariant follows (a relaxed one reported with its reason, never
    dropped); known breakage never covers an invariant."""
    verdicts = []
    reasons = [split_known_broken(_as_mapping(raw))[1] for raw in expectations]
    for function, name, params in resolve(expectations):
        allowed = params.pop(ALLOW_UNEXERCISED, False)
        verdict = function(history, **params)
        verdict.name = name
        verdict.params = {**params, **({ALLOW_UNEXERCISED: True} if allowed else {})}
        verdicts.append(verdict)
    judged = judge(history, verdicts)
    marked = [apply_known_broken(v, r) for v, r in zip(judged, reasons, strict=True)]
    verdicts = apply_scenario_known_broken(marked, known_broken)
    if invariants:
        verdicts.extend(invariant_verdicts(history, relax or {}))
    return verdicts


def invariant_verdicts(history: RunHistory, relax: Mapping[str, str]) -> list[Verdict]:
    """Every invariant's verdict; a relaxed one holds and says why, its own finding kept."""
    verdicts = []
    for name, function in INVARIANTS.items():
        verdict = function(history)
        verdict.name = f"invariant:{name}"
        reason = relax.get(name)
        if reason is not None:
            verdict.details = {**verdict.details, "relaxed": reason, "held_unrelaxed": verdict.ok}
            verdict.params = {"relax": reason}
            verdict.expected = f"relaxed ({reason})"
            verdict.message = f"relaxed: {reason}; " + ("" if verdict.ok else "would fail: ") + (
                verdict.message
            )
            verdict.ok = True
        verdicts.append(verdict)
    return verdicts


#: What ``chaos check`` runs on a run directory that names no expectations.
DEFAULT_EXPECTATIONS: list[dict[str, Any]] = [
    {"check": "delivery"},
    {"check": "retries_as_declared"},
    {"check": "sanity"},
]
