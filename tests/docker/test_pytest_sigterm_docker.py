"""SIGTERM of ``pytest -n 2`` with a docker stack up in each xdist worker: each worker's fixture
removes its own containers, network and volume (the watchdogs reap nothing), exit 143."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from chaos.interruption import EXIT_TERMINATED
from chaos.stack._waiting import poll_until
from chaos.stack.docker import labelled_leftovers, reap_docker

pytestmark = pytest.mark.docker

#: Two docker stacks started at once on two shared cores (about 10 s each when idle).
STACKS_UP_WITHIN = 180.0
#: From SIGTERM to exit: two closes in parallel, each removing its containers (about 1 s idle).
STOPPED_WITHIN = 60.0

CONFTEST = """
import pytest
from chaos.stack.base import StackConfig


@pytest.fixture(scope="session")
def chaos_app():
    return StackConfig(workers=1, start_timeout=90.0)
"""

HELD_TEST = """
import json, os, threading
from pathlib import Path

import pytest


@pytest.mark.parametrize("n", [1, 2])
def test_holds_the_worker_stack_until_terminated(chaos_stack, n):
    started = {"worker": os.environ.get("PYTEST_XDIST_WORKER"), "run_id": chaos_stack.run_id,
               "run_dir": str(chaos_stack.run_dir), "proxy_api": chaos_stack.proxy_api_url}
    target = Path(os.environ["STACK_UP_DIR"]) / f"{os.environ['PYTEST_XDIST_WORKER']}.json"
    target.with_suffix(".tmp").write_text(json.dumps(started))
    target.with_suffix(".tmp").replace(target)  # by rename: never read half-written
    threading.Event().wait(120)  # held until SIGTERM (bounded, should the signal never come)
"""


def test_sigterm_under_xdist_removes_every_workers_containers(docker_images, tmp_path: Path):
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_held.py").write_text(HELD_TEST)
    up_dir = tmp_path / "up"
    up_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    session = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:django",
         "-q", "-n", "2", "--chaos-backend", "docker", "--chaos-keep",
         f"--chaos-out={tmp_path / 'runs'}", "--rootdir", str(tmp_path), "-c", os.devnull,
         str(tmp_path / "test_held.py")],
        cwd=tmp_path, env={**env, "STACK_UP_DIR": str(up_dir)},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    runs: list[dict] = []
    try:
        up = poll_until(
            lambda: len(list(up_dir.glob("*.json"))) == 2 or session.poll() is not None,
            STACKS_UP_WITHIN,
        )
        assert up and session.poll() is None, "the two stacks did not come up"
        runs = [json.loads(path.read_text()) for path in sorted(up_dir.glob("*.json"))]
        assert sorted(run["worker"] for run in runs) == ["gw0", "gw1"]
        # 6 parts, and the seed app's database: its volume and the container holding it
        assert all(len(labelled_leftovers(run["run_id"])) == 8 for run in runs)

        session.send_signal(signal.SIGTERM)  # the controller only, as ``timeout`` sends it
        output, _ = session.communicate(timeout=STOPPED_WITHIN)

        assert session.returncode == EXIT_TERMINATED, output
        assert "Traceback" not in output, output
        for run in runs:
            assert labelled_leftovers(run["run_id"]) == [], (run, output)
            log = (Path(run["run_dir"]) / "logs" / "watchdog.log").read_text(errors="replace")
            assert "reaped" not in log, (run, log, output)  # the fixture closed it, not the reaper
    finally:
        if session.poll() is None:
            os.killpg(session.pid, signal.SIGKILL)
            session.communicate(timeout=10)
        for run in runs:
            reap_docker(run["run_id"])
