"""Assertion helpers for resilience tests: each runs one check and asserts its verdict held.

The plugin registers this module for pytest's assertion rewriting, so a failure reads as the
checker's own message (the task, the expected and observed, the fault windows around it) followed
by pytest's ``assert False``. Each helper returns the Verdict, for tests that look further.

A ``source`` is whatever holds a history: the ``journal`` fixture (a JournalView), a RunHistory,
a run directory or journal path, or a runner's RunResult (its ``run_dir``).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from chaos.checks.verdict import Verdict
from chaos.errors import ConfigError, Problem
from chaos.history import RunHistory


def history_of(source: Any) -> RunHistory:
    """The RunHistory behind any of the sources the helpers accept."""
    if isinstance(source, RunHistory):
        return source
    if hasattr(source, "history") and callable(source.history):
        return source.history()
    from chaos.history import load_history

    if isinstance(source, (str, Path)):
        return load_history(source)
    run_dir = getattr(source, "run_dir", None)
    if run_dir is not None:
        return load_history(run_dir)
    raise ConfigError([Problem(f"cannot read a history from this {type(source).__name__}",
                               field_path="source", given=repr(source)[:80],
                               expected="the journal fixture, a RunHistory, a run directory, "
                                        "a journal path or a RunResult")])  # fmt: skip


def assert_check(source: Any, check: str, **params: Any) -> Verdict:
    """Run the named check (as a scenario's ``expect:`` would) and assert that it held."""
    __tracebackhide__ = True  # pytest shows the failure at the test's line, not in here
    from chaos.checks import run_checks

    verdict = run_checks(history_of(source), [{"check": check, **params}])[0]
    held = verdict.ok
    assert held, (
        f"{verdict.name}: {verdict.message} "
        f"(expected {verdict.expected}; observed {verdict.observed})"
    )
    return verdict


def assert_no_lost(source: Any, **params: Any) -> Verdict:
    """No task the broker accepted (or the outbox saved) was lost."""
    __tracebackhide__ = True
    return assert_check(source, "no_lost", **params)


def assert_delivered(source: Any, **params: Any) -> Verdict:
    """Every promised task executed: nothing lost, duplicated or unexpected (unless allowed)."""
    __tracebackhide__ = True
    return assert_check(source, "delivery", **params)


def assert_no_duplicates(source: Any, **params: Any) -> Verdict:
    """No attempt executed twice (at-least-once redelivery did not happen)."""
    __tracebackhide__ = True
    return assert_check(source, "duplicates", **params)


def assert_retries_as_declared(source: Any, **params: Any) -> Verdict:
    """Attempts, retries and countdowns as each task's policy declares."""
    __tracebackhide__ = True
    return assert_check(source, "retries_as_declared", **params)


def assert_resumed_within(source: Any, seconds: float, **params: Any) -> Verdict:
    """Execution resumed within ``seconds`` of the last outage healing."""
    __tracebackhide__ = True
    return assert_check(source, "resume_within", seconds=seconds, **params)


def assert_enqueue(source: Any, **params: Any) -> Verdict:
    """Publishes behaved as stated, e.g. ``during_outage="refused"``."""
    __tracebackhide__ = True
    return assert_check(source, "enqueue", **params)


def assert_sane(source: Any, **params: Any) -> Verdict:
    """The history is consistent (no delivery through a dead broker, no effect before cause)."""
    __tracebackhide__ = True
    return assert_check(source, "sanity", **params)


def assert_verdicts_held(verdicts_or_result: Any) -> None:
    """Every verdict of a scenario run held; the failure lists each failed one's message."""
    __tracebackhide__ = True
    verdicts: Iterable[Verdict] = getattr(verdicts_or_result, "verdicts", verdicts_or_result)
    failed = [v for v in verdicts if not v.ok]
    lines = "\n".join(f"{v.name}: {v.message}" for v in failed)
    all_held = not failed
    assert all_held, f"{len(failed)} expectation(s) failed:\n{lines}"
