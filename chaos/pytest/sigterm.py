"""A pytest session that SIGTERM (a CI job cancelled, ``timeout``) stops as Ctrl-C stops it.

Without this, SIGTERM's default action ends pytest at once: no fixture teardown, so the session
stack's Redis, workers or containers are left to the watchdog at best. With it, the signal raises
a KeyboardInterrupt (``chaos.interruption.Terminated``): pytest tears every fixture down, prints
one line and exits 143, the status a shell gives a process that SIGTERM ended.
"""

from __future__ import annotations

import pytest

from chaos.interruption import (
    EXIT_TERMINATED,
    Terminated,
    raise_on_sigterm,
    restore,
    terminate_with_parent,
)

PLUGIN_NAME = "chaos-sigterm"


class SigtermPlugin:
    """Registered by ``chaos.pytest.plugin`` for the session; unregistered at its end."""

    def __init__(self) -> None:
        self.terminated = False
        self._previous = raise_on_sigterm()

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        self.terminated = isinstance(excinfo.value, Terminated)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        # pytest's own status for an interrupted session is 2, which CI reads as "tests failed".
        if self.terminated:
            session.exitstatus = EXIT_TERMINATED

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        # An in-process inner pytest (pytester) must not leave its handler to the outer session.
        restore(self._previous)


def register(config: pytest.Config) -> None:
    """Take SIGTERM as Ctrl-C for this session (its main thread's; each xdist worker's too). An
    xdist worker also takes its session's death (``kill -9``) as SIGTERM: its stack is closed."""
    if not config.pluginmanager.has_plugin(PLUGIN_NAME):
        config.pluginmanager.register(SigtermPlugin(), PLUGIN_NAME)
        if hasattr(config, "workerinput"):  # an xdist worker, a child of the session's process
            terminate_with_parent()
