"""The pytest plugin, registered through the ``pytest11`` entry point: it only registers.

Options (``--chaos-backend``, ``--chaos-seed``, ``--chaos-out``, ``--chaos-keep``) and the
``chaos_scenarios`` ini option live in ``chaos.pytest.options``, the fixtures in
``chaos.pytest.fixtures``, scenario collection in ``chaos.pytest.scenarios``, the assertion
helpers in ``chaos.pytest.assertions`` (registered here for assertion rewriting). The plugin is
loaded in every session of a project that installs the package, so importing it starts nothing
and imports nothing heavy (no Celery, no matplotlib): that happens when a fixture is used.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

# Before anything imports the helpers, so that their asserts are rewritten.
pytest.register_assert_rewrite("chaos.pytest.assertions")

# The fixtures: pytest finds them as names of this module.
from chaos.pytest.fixtures import (  # noqa: F401
    _chaos_between_tests,
    broker,
    chaos_app,
    chaos_broker,
    chaos_celery_app,
    chaos_journal,
    chaos_options,
    chaos_producer,
    chaos_proxy,
    chaos_run,
    chaos_stack,
    chaos_workers,
    draw_test_timeline,
    failed_key,
    journal,
    proxy,
    workers,
)
from chaos.pytest.journal import JournalView
from chaos.pytest.options import add_options
from chaos.pytest.sigterm import register as take_sigterm_as_interrupt

MARKER = (
    "chaos(reset=True): a resilience test against a real stack; reset=False keeps the session "
    "stack as the previous test left it"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER)
    _choose_docker_engine(config)
    take_sigterm_as_interrupt(config)


def _choose_docker_engine(config: pytest.Config) -> None:
    """With several engines named, point this process's DOCKER_HOST at its xdist worker's one
    (before any client exists). The xdist controller runs no stack and keeps its own."""
    import os

    hosts = config.getoption("chaos_docker_hosts", None) or os.environ.get("CHAOS_DOCKER_HOSTS")
    if not hosts:
        return
    workerinput = getattr(config, "workerinput", None)
    from chaos.stack.docker.engines import use_engine_for_worker

    use_engine_for_worker(str(workerinput["workerid"]) if workerinput else "main", hosts)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    from chaos.pytest.options import SCENARIO_SUFFIXES

    if file_path.suffix not in SCENARIO_SUFFIXES:
        return None
    from chaos.pytest.scenarios import collect_file

    return collect_file(file_path, parent)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    from chaos.pytest.scenarios import summarize_kept_runs

    summarize_kept_runs(terminalreporter, config)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember failures on the item (fixtures keep the run directories of failed tests), and
    for a failed test that used the ``chaos_journal`` fixture (or its deprecated alias
    ``journal``), draw its timeline and name it."""
    report = yield
    if report.failed:
        item.stash[failed_key] = True
        view = getattr(item, "funcargs", {}).get("chaos_journal")
        if report.when == "call" and isinstance(view, JournalView):
            report.sections.append(("chaos timeline", draw_test_timeline(item, view)))
    return report

