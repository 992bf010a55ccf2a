"""``chaos run --jobs 2`` on the local backend, for real: two scenarios at once, each in its own
``chaos run`` process with its own stack.

One run holds and one ends without a verdict (a planned fault that never applied: exit 3); the
other still runs to its verdicts, the summary names the one without, and the exit code is the
worst. SIGTERM (or SIGINT) to the parent stops both children and their stacks, and exits 143
(130); a parent killed with SIGKILL leaves nothing either: its children stop as on SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree

import psutil
import pytest

from chaos.journal import read_journal
from tests.trust.support import SCENARIOS, WORKTREE, deliverable_sigint, run_chaos

pytestmark = pytest.mark.chaos

E2E = Path(__file__).parent / "e2e"
STARTED_DEADLINE = 120.0
EXIT_DEADLINE = 90.0
GONE_DEADLINE = 10.0
ENV = {**os.environ, "CHAOS_SKIP_DOCKER_SETUP": "1"}


def _window(run_dir: Path) -> tuple[float, float]:
    walls = [event.wall for event in read_journal(run_dir)]
    return min(walls), max(walls)


def test_two_scenarios_at_once_one_without_verdict(tmp_path: Path) -> None:
    out, junit = tmp_path / "runs", tmp_path / "all.xml"
    finished = run_chaos("run", str(E2E / "at-only-failpoint.yaml"),
                         str(E2E / "never-applied.yaml"), "--jobs", "2", "--out", str(out),
                         "--junit", str(junit), "--no-report", timeout=180, env=ENV)  # fmt: skip
    assert finished.returncode == 3, finished.stdout + finished.stderr
    lines = finished.stdout.splitlines()
    ended = [line for line in lines if line.startswith("[")]
    assert len(ended) == 2, finished.stdout
    held = next(line for line in ended if "at-only-failpoint" in line)
    assert held.split()[1] == "held", held
    lost = next(line for line in ended if "never-applied" in line)
    assert "no verdict" in lost and "never applied" in lost and "(exit 3)" in lost, lost
    assert lines[-1] == ("2 scenarios, 2 at a time: 1 held, 1 infrastructure error "
                         "(never-applied); exit 3"), finished.stdout  # fmt: skip

    (held_dir,) = out.glob("at-only-failpoint-*")
    (lost_dir,) = out.glob("never-applied-*")
    assert f"  at-only-failpoint: {held_dir / 'report.json'}" in lines
    report = json.loads((held_dir / "report.json").read_text())
    assert report["verdicts"] and all(v["ok"] for v in report["verdicts"]), report
    assert not (lost_dir / "report.json").exists(), "no verdict from an incomplete journal"
    # At once, not one after the other: each run's journal spans a time the other's does too.
    # Both children are started together; each run lasts seconds, far more than a start's skew.
    (held_from, held_to), (lost_from, lost_to) = _window(held_dir), _window(lost_dir)
    assert held_from < lost_to and lost_from < held_to, (held_from, held_to, lost_from, lost_to)

    suites = ElementTree.parse(junit).getroot().findall("testsuite")
    assert [(s.get("name"), s.get("errors")) for s in suites] == [("at-only-failpoint", "0"),
                                                                   ("never-applied", "1")]


def _workloads_started(out: Path) -> int:
    return sum(b'"name":"workload"' in journal.read_bytes()
               for journal in out.glob("*/journal.jsonl"))  # fmt: skip


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _listening(processes: list[psutil.Process]) -> set[int]:
    ports: set[int] = set()
    for process in processes:
        try:
            found = process.net_connections(kind="inet")
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        ports |= {c.laddr.port for c in found if c.status == psutil.CONN_LISTEN}
    return ports


def _still_listening(ports: set[int]) -> set[int]:
    return {c.laddr.port for c in psutil.net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN and c.laddr.port in ports}  # fmt: skip


def _wait_for(condition, seconds: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds:g}s: {what}")
        time.sleep(0.05)  # polling a condition, not synchronising on time


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL],
                         ids=["SIGTERM", "SIGINT", "SIGKILL"])  # fmt: skip
def test_a_signal_stops_every_child_and_its_stack_and_exits_128_plus_it(
    tmp_path: Path, signum: signal.Signals
) -> None:
    """SIGTERM and SIGINT: the parent passes the signal on and exits 128 + it. SIGKILL: the
    parent cannot act, but its pipe closes, and each child stops as on SIGTERM."""
    out = tmp_path / "runs"
    runner = subprocess.Popen(
        [sys.executable, "-m", "chaos", "run", str(SCENARIOS / "proxy-down.yaml"),
         str(SCENARIOS / "latency-500ms-jitter.yaml"), "--jobs", "2", "--out", str(out),
         "--no-report", "--dilation", "1"],  # real time: both must still run at the signal
        cwd=WORKTREE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV,
        preexec_fn=deliverable_sigint,
    )  # fmt: skip
    try:
        _wait_for(lambda: _workloads_started(out) == 2 or runner.poll() is not None,
                  STARTED_DEADLINE, "both journals show the workload phase")  # fmt: skip
        assert runner.poll() is None, runner.communicate()
        parent = psutil.Process(runner.pid)
        descendants = parent.children(recursive=True)
        children = parent.children()
        ports = _listening(descendants)
        assert len(children) == 2 and len(ports) >= 4, "two runs, each with Redis and a proxy"

        runner.send_signal(signum)
        stdout, stderr = runner.communicate(timeout=EXIT_DEADLINE)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.communicate()
    text = stderr.decode(errors="replace")
    killed = signum == signal.SIGKILL
    assert runner.returncode == (-signum if killed else 128 + signum), text
    if not killed:
        assert f"interrupted ({signum.name})" in text and "Traceback" not in text, text
        assert text.count("stopping ") == 2, text
    # The children outlive a killed parent only for their clean-up (GONE_DEADLINE's reason:
    # each stops a Redis, a proxy and a worker, about 2 s here).
    survivors = lambda: [p.pid for p in descendants if _alive(p)]  # noqa: E731
    _wait_for(lambda: not survivors(), EXIT_DEADLINE if killed else GONE_DEADLINE,
              f"every process ends: {survivors()}")  # fmt: skip
    _wait_for(lambda: not _still_listening(ports), GONE_DEADLINE,
              f"every port closes: {_still_listening(ports)}")  # fmt: skip
    # Each child unwound through its own clean-up: its log says it was interrupted.
    logs = sorted(out.glob("jobs-*/*.log"))
    assert len(logs) == 2
    passed_on = signal.SIGTERM if killed else signum
    for log in logs:
        assert f"interrupted ({passed_on.name})" in log.read_text(), log.read_text()[-2000:]
    assert b"reports:" not in stdout, "an interrupted run prints no summary of verdicts"
