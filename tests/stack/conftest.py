"""Fixtures for the local stack's tests: an isolated state directory, a plain Celery app."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from chaos.journal import Event
from chaos.stack._journal_tail import JournalTail
from chaos.stack._waiting import poll_until
from chaos.stack.base import StackConfig

PLAIN_APP_DIR = Path(__file__).resolve().parent / "apps"


@pytest.fixture(scope="session", autouse=True)
def isolated_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Each test session gets its own registry of runs, so reaping never reaches another's."""
    state = tmp_path_factory.mktemp("chaos-state")
    patcher = pytest.MonkeyPatch()
    patcher.setenv("CHAOS_STATE_DIR", str(state))
    yield state
    patcher.undo()


@pytest.fixture
def plain_config(tmp_path: Path) -> StackConfig:
    """One solo worker of the plain test app, run dir in the test's tmp dir.

    ``CHAOS_TEST_WORKER_START=forkserver`` runs every stack test with forked workers.
    """
    return StackConfig(
        worker_start=os.environ.get("CHAOS_TEST_WORKER_START", "spawn"),  # type: ignore[arg-type]
        app="plainapp",
        workdir=PLAIN_APP_DIR,
        settings_module=None,
        run_dir=tmp_path / "run",
        start_timeout=30.0,
    )


@pytest.fixture(scope="session")
def plain_app() -> ModuleType:
    """The plain app's module, imported in the test process for publishing."""
    if str(PLAIN_APP_DIR) not in sys.path:
        sys.path.insert(0, str(PLAIN_APP_DIR))
    return importlib.import_module("plainapp")


EventWaiter = Callable[[Callable[[list[Event]], bool], float], list[Event]]


@pytest.fixture
def wait_journal() -> Callable[[Path], EventWaiter]:
    """``wait_journal(path)(condition, timeout)``: the events once ``condition(events)`` holds."""

    def for_path(path: Path) -> EventWaiter:
        tail = JournalTail(path)

        def until(condition: Callable[[list[Event]], bool], timeout: float) -> list[Event]:
            def holds() -> bool:
                tail.read_new()
                return condition(tail.events)

            if not poll_until(holds, timeout):
                kinds = [f"{e.kind}:{e.task_id or ''}" for e in tail.events]
                raise AssertionError(f"journal condition not met in {timeout} s; saw {kinds}")
            return list(tail.events)

        return until

    return for_path
