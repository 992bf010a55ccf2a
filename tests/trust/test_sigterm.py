"""SIGTERM (what CI runners and ``timeout`` send) stops ``chaos run`` as SIGINT does: the stack,
workers and proxy are stopped, "interrupted" is printed, and the exit code is 143 (128 + 15)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.trust.support import SCENARIOS, WORKTREE

pytestmark = pytest.mark.chaos

STARTED_DEADLINE = 90.0
EXIT_DEADLINE = 60.0
GONE_DEADLINE = 10.0


def wait_for(condition, seconds: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds:g}s: {what}")
        time.sleep(0.05)  # polling a condition, not synchronising on time


def workload_started(out: Path) -> bool:
    for journal in out.glob("*/journal.jsonl"):
        if b'"name":"workload"' in journal.read_bytes():
            return True
    return False


def listening_ports(processes: list[psutil.Process]) -> set[int]:
    ports = set()
    for process in processes:
        try:
            connections = process.net_connections(kind="inet")
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        ports |= {c.laddr.port for c in connections if c.status == psutil.CONN_LISTEN}
    return ports


def alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def ports_still_listening(ports: set[int]) -> set[int]:
    return {
        c.laddr.port
        for c in psutil.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN and c.laddr.port in ports
    }


def test_sigterm_stops_the_run_cleanly_and_exits_143(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    runner = subprocess.Popen(
        [sys.executable, "-m", "chaos", "run", str(SCENARIOS / "proxy-down.yaml"), "--out",
         str(out)],
        cwd=WORKTREE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "CHAOS_SKIP_DOCKER_SETUP": "1"},
    )  # fmt: skip
    try:
        wait_for(lambda: workload_started(out) or runner.poll() is not None, STARTED_DEADLINE,
                 "the journal shows the workload phase")  # fmt: skip
        assert runner.poll() is None, runner.communicate()
        me = psutil.Process(runner.pid)
        children = me.children(recursive=True)
        ports = listening_ports([me, *children])
        assert children and ports, "a started run has workers, Redis and a proxy"

        runner.send_signal(signal.SIGTERM)
        stdout, stderr = runner.communicate(timeout=EXIT_DEADLINE)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.communicate()

    assert runner.returncode == 143, stderr
    text = stderr.decode(errors="replace")
    assert "interrupted (SIGTERM)" in text
    assert "Traceback" not in text
    wait_for(lambda: not any(alive(child) for child in children), GONE_DEADLINE,
             f"the run's processes end: {[c.pid for c in children if alive(c)]}")  # fmt: skip
    wait_for(lambda: not ports_still_listening(ports), GONE_DEADLINE,
             f"the run's ports close: {ports_still_listening(ports)}")  # fmt: skip
    assert b"all expectations held" not in stdout and b"FAILED" not in stdout
