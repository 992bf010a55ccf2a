"""A runner killed with ``kill -9`` leaves Redis and workers behind; ``chaos clean`` stops them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from chaos.stack.local.ports import is_listening
from chaos.stack.local.reaping import reap_run, registered_runs

OWNER_SCRIPT = Path(__file__).resolve().parent / "stack_owner.py"


def _run_processes(run_id: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get("CHAOS_RUN_ID") == run_id:
                found.append(process)
        except psutil.Error:
            continue
    return found


def _still_running(pid: int) -> bool:
    """Alive and not a zombie (a dead child whose reaper has not collected it yet is gone)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize("worker_start", ["spawn", "forkserver"])
def test_chaos_clean_stops_what_a_killed_runner_left(tmp_path: Path, worker_start: str) -> None:
    owner = subprocess.Popen(
        [sys.executable, str(OWNER_SCRIPT), str(tmp_path / "run"), worker_start],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    started: dict = {}
    family: list[int] = []
    try:
        line = owner.stdout.readline() if owner.stdout else ""
        assert line, f"the stack owner did not start: {owner.stderr.read() if owner.stderr else ''}"
        started = json.loads(line)
        # The worker's main process and its prefork child carry the run id in their environment
        # (redis-server rewrites its process title over it: its pidfile names it instead).
        # A forked worker shows the fork server's environment: only its pidfile and group name it.
        tagged = _run_processes(started["run_id"])
        assert len(tagged) >= (2 if worker_start == "spawn" else 0)
        pool_children = [
            child.pid for pid in started["pids"][1:] for child in psutil.Process(pid).children()
        ]
        assert pool_children, "the prefork worker has a pool child"
        family = started["pids"] + pool_children + [p.pid for p in tagged]
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait(timeout=10)
        assert all(_still_running(pid) for pid in family)
        assert [r.run_id for r in registered_runs()] == [started["run_id"]]

        cleaned = subprocess.run(
            [sys.executable, "-m", "chaos", "clean"],
            capture_output=True, text=True, timeout=60, check=False,
        )
        assert cleaned.returncode == 0, cleaned.stderr
        assert f"stopped {started['run_id']} (owner dead)" in cleaned.stdout

        assert _run_processes(started["run_id"]) == []
        assert not any(_still_running(pid) for pid in family)
        assert not any(is_listening(port) for port in started["ports"])
        assert registered_runs() == []
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait(timeout=10)
        if started:
            # Whatever failed above, leave nothing: the pidfiles name Redis, the env the rest.
            for record in registered_runs():
                if record.run_id == started["run_id"]:
                    reap_run(record)
            for process in _run_processes(started["run_id"]):
                process.kill()
        for pid in family + started.get("pids", []):
            if _still_running(pid):
                os.kill(pid, signal.SIGKILL)


def test_chaos_clean_keeps_runs_whose_owner_is_alive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from chaos.cli import main
    from chaos.stack.local.reaping import register_run, unregister_run

    record = register_run("owned-run", tmp_path)
    try:
        assert main(["clean"]) == 0
        assert "kept   owned-run" in capsys.readouterr().out
        assert [r.run_id for r in registered_runs()] == ["owned-run"]
        assert main(["clean", "--run", "no-such-run"]) == 2
    finally:
        unregister_run(record.run_id)
