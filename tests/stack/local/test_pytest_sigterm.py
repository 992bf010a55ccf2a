"""SIGTERM (a CI job cancelled) stops a pytest session as Ctrl-C does: the session stack is torn
down by its fixture, not by the watchdog, the session says so in one line and exits 143."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
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


HELD_TEST_PER_WORKER = """
import json, os, threading
from pathlib import Path

import pytest


@pytest.mark.parametrize("n", [1, 2])
def test_holds_the_worker_stack_until_terminated(chaos_stack, n):
    started = {
        "worker": os.environ.get("PYTEST_XDIST_WORKER"),
        "session_pid": os.getpid(),
        "run_id": chaos_stack.run_id,
        "run_dir": str(chaos_stack.run_dir),
        "pids": [chaos_stack.broker.process.pid] + [w.pid for w in chaos_stack.workers],
        "ports": [chaos_stack.broker.port, chaos_stack.proxy.listen_port],
    }
    target = Path(os.environ["STACK_UP_DIR"]) / f"{os.environ['PYTEST_XDIST_WORKER']}.json"
    staging = target.with_suffix(".tmp")
    staging.write_text(json.dumps(started))
    staging.replace(target)  # by rename: never read half-written
    threading.Event().wait(120)  # held until SIGTERM (bounded, should the signal never come)
"""


def test_sigterm_under_xdist_closes_every_workers_stack_and_exits_143(tmp_path: Path) -> None:
    """``pytest -n 2`` with one stack per xdist worker; SIGTERM to the session (what ``timeout``
    and a cancelled CI job send) once both stacks are up: each worker's fixture closes its own
    stack (not the watchdog), the session exits 143, no process or port of either run is left."""
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_held.py").write_text(HELD_TEST_PER_WORKER)
    up_dir = tmp_path / "up"
    up_dir.mkdir()
    session = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:django",
         "-q", "-n", "2", "--chaos-keep", f"--chaos-out={tmp_path / 'runs'}",
         "--rootdir", str(tmp_path), "-c", os.devnull, str(tmp_path / "test_held.py")],
        cwd=tmp_path, env={**_without_django(os.environ), "STACK_UP_DIR": str(up_dir)},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    runs: list[dict] = []
    try:
        both_up = poll_until(
            lambda: len(list(up_dir.glob("*.json"))) == 2 or session.poll() is not None,
            STACK_UP_WITHIN,
        )
        if not both_up:
            raise AssertionError("the inner session's two stacks did not come up")
        assert session.poll() is None, session.communicate()[0]
        runs = [json.loads(path.read_text()) for path in sorted(up_dir.glob("*.json"))]
        assert sorted(run["worker"] for run in runs) == ["gw0", "gw1"]
        assert len({run["run_id"] for run in runs}) == 2  # a stack per worker
        assert all(_still_running(pid) for run in runs for pid in run["pids"])

        session.send_signal(signal.SIGTERM)  # the controller only, as ``timeout`` sends it
        output, _ = session.communicate(timeout=STOPPED_WITHIN)

        assert session.returncode == EXIT_TERMINATED, output
        assert "Traceback" not in output, output
        for run in runs:
            assert [pid for pid in run["pids"] if _still_running(pid)] == [], (run, output)
            assert _run_processes(run["run_id"]) == [], (run, output)
            assert not any(is_listening(port) for port in run["ports"]), (run, output)
            assert not _still_running(run["session_pid"]), (run, output)  # the xdist worker
            # Each worker's fixture closed its stack: its watchdog was released, reaped nothing.
            log = (Path(run["run_dir"]) / "logs" / "watchdog.log").read_text(errors="replace")
            assert "reaped" not in log, (run, log, output)
    finally:
        if session.poll() is None:
            os.killpg(session.pid, signal.SIGKILL)
            session.communicate(timeout=10)
        for run in runs:
            for pid in run["pids"] + _run_processes(run["run_id"]):
                if _still_running(pid):
                    os.kill(pid, signal.SIGKILL)


#: kill -9 of the session to nothing left: each worker's parent-death SIGTERM, then its teardown:
#: 0.44 s measured at load 0.6 (5.65 s without the signal: the workers end on their own, then
#: their watchdogs reap); issue 17 asks 2 s, 3 s allows a loaded machine and still tells them apart.
KILLED_SESSION_LEFT_NOTHING_WITHIN = 3.0


def test_kill_9_of_the_xdist_session_stops_every_workers_stack(tmp_path: Path) -> None:
    """``kill -9`` of ``pytest -n 2``'s main process: without a parent-death signal its xdist
    workers ran on with their stacks (every process and port still there 2 s later, measured by
    benchmarks/attack_kill9.py); now each worker takes it as SIGTERM and closes its stack."""
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_held.py").write_text(HELD_TEST_PER_WORKER)
    up_dir = tmp_path / "up"
    up_dir.mkdir()
    session = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:django",
         "-q", "-n", "2", "--chaos-keep", f"--chaos-out={tmp_path / 'runs'}",
         "--rootdir", str(tmp_path), "-c", os.devnull, str(tmp_path / "test_held.py")],
        cwd=tmp_path, env={**_without_django(os.environ), "STACK_UP_DIR": str(up_dir)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    runs: list[dict] = []
    try:
        both_up = poll_until(
            lambda: len(list(up_dir.glob("*.json"))) == 2 or session.poll() is not None,
            STACK_UP_WITHIN,
        )
        assert both_up and session.poll() is None, "the inner session's stacks did not come up"
        runs = [json.loads(path.read_text()) for path in sorted(up_dir.glob("*.json"))]

        os.kill(session.pid, signal.SIGKILL)  # the main process only, as ``kill -9 PID``
        killed = time.monotonic()
        session.wait(timeout=10)

        def nothing_left() -> bool:
            pids = [pid for run in runs for pid in [*run["pids"], run["session_pid"]]]
            ports = [port for run in runs for port in run["ports"]]
            return (
                not any(_still_running(pid) for pid in pids)
                and not any(is_listening(port) for port in ports)
                and all(_run_processes(run["run_id"]) == [] for run in runs)
            )

        gone = poll_until(nothing_left, KILLED_SESSION_LEFT_NOTHING_WITHIN)
        print(f"pytest -n 2: nothing left {time.monotonic() - killed:.2f} s after kill -9")
        assert gone, runs
    finally:
        if session.poll() is None:
            session.kill()
            session.wait(timeout=10)
        for run in runs:
            for pid in [*run["pids"], run["session_pid"], *_run_processes(run["run_id"])]:
                if _still_running(pid):
                    os.kill(pid, signal.SIGKILL)
