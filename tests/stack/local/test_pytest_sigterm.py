"""SIGTERM (a CI job cancelled) stops a pytest session as Ctrl-C does: the session stack is torn
down by its fixture, not by the watchdog, the session says so in one line and exits 143."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil

from chaos.interruption import EXIT_TERMINATED
from chaos.stack._waiting import poll_until
from chaos.stack.local.ports import is_listening
from chaos.stack.local.reaping import processes_with_run_id

from ..conftest import PLAIN_APP_DIR

#: The inner session's stack start: Redis, the proxy and a worker spawned from scratch (about 3 s
#: idle); 90 s leaves room for two cores shared with other stacks.
STACK_UP_WITHIN = 90.0
#: From SIGTERM to exit: teardown kills the worker and Redis by group (well under a second idle).
STOPPED_WITHIN = 30.0

CONFTEST = f"""
import pytest
from chaos.stack.base import StackConfig


@pytest.fixture(scope="session")
def chaos_app():
    return StackConfig(app="plainapp", workdir={str(PLAIN_APP_DIR)!r}, settings_module=None,
                       workers=1, start_timeout=60.0)
"""

HELD_TEST = """
import json, os, threading
from pathlib import Path


def test_holds_the_stack_until_terminated(chaos_stack):
    started = {
        "run_id": chaos_stack.run_id,
        "run_dir": str(chaos_stack.run_dir),
        "pids": [chaos_stack.broker.process.pid] + [w.pid for w in chaos_stack.workers],
        "ports": [chaos_stack.broker.port, chaos_stack.proxy.listen_port],
    }
    staging = Path(os.environ["STACK_UP_FILE"] + ".tmp")
    staging.write_text(json.dumps(started))
    staging.replace(os.environ["STACK_UP_FILE"])  # by rename: never read half-written
    threading.Event().wait(120)  # held until SIGTERM (bounded, should the signal never come)
"""


def _without_django(env: os._Environ[str]) -> dict[str, str]:
    """The outer session's pytest-django set its settings module: the plain app has none."""
    return {name: value for name, value in env.items() if name != "DJANGO_SETTINGS_MODULE"}


def _still_running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _run_processes(run_id: str) -> list[int]:
    return [process.pid for process in processes_with_run_id(run_id)]


def test_sigterm_tears_the_session_stack_down_and_exits_143(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_held.py").write_text(HELD_TEST)
    up_file = tmp_path / "stack-up.json"
    session = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:django",
         "-q", "--chaos-keep", f"--chaos-out={tmp_path / 'runs'}", "--rootdir", str(tmp_path),
         "-c", os.devnull, str(tmp_path / "test_held.py")],
        cwd=tmp_path, env={**_without_django(os.environ), "STACK_UP_FILE": str(up_file)},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    started: dict = {}
    try:
        if not poll_until(lambda: up_file.exists() or session.poll() is not None, STACK_UP_WITHIN):
            raise AssertionError("the inner session's stack did not come up")
        assert session.poll() is None, session.communicate()[0]
        started = json.loads(up_file.read_text())
        assert all(_still_running(pid) for pid in started["pids"])

        session.send_signal(signal.SIGTERM)
        output, _ = session.communicate(timeout=STOPPED_WITHIN)

        assert session.returncode == EXIT_TERMINATED, output
        assert "Traceback" not in output, output
        stop_lines = [line for line in output.splitlines() if "SIGTERM" in line]
        assert len(stop_lines) == 1 and "stopped cleanly" in stop_lines[0], output
        # The fixture's teardown stopped everything before pytest exited: nothing to wait for.
        assert [pid for pid in started["pids"] if _still_running(pid)] == []
        assert _run_processes(started["run_id"]) == []
        assert not any(is_listening(port) for port in started["ports"])
        # ... and it was the teardown, not the watchdog reaping after an abrupt end.
        watchdog_log = Path(started["run_dir"]) / "logs" / "watchdog.log"
        assert "reaped" not in watchdog_log.read_text(errors="replace")
    finally:
        if session.poll() is None:
            session.kill()
            session.communicate(timeout=10)
        for pid in started.get("pids", []) + _run_processes(started.get("run_id", "-")):
            if _still_running(pid):
                os.kill(pid, signal.SIGKILL)
