"""The dilated clock on the docker backend: workers in containers on the runner's app time.

A library scenario with a 60 s countdown, run dilated x10 with its worker in a container: the
worker's own journal lines (countdown, ETA, start) and the host's (producer, runner) interleave
on one clock, the countdown holds in app time, and the wall is a fraction of the countdown. And
a worker container that cannot see the run's start record refuses to start (launcher exit 4)
rather than count from its own start.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import chaos.stack.docker.stack as docker_stack
from chaos.errors import StackError
from chaos.journal import read_journal
from chaos.runner.run import run_scenario

pytestmark = pytest.mark.docker

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SCENARIO = SCENARIOS / "countdown-within-visibility-timeout.yaml"


def test_a_worker_container_and_the_runner_share_the_dilated_clock(docker_images, tmp_path):
    result = run_scenario(SCENARIO, backend="docker", out_dir=tmp_path, quiet=True)
    assert result.ok, [str(v) for v in result.verdicts if not v.ok]
    assert result.dilation == 10.0
    events = list(read_journal(result.run_dir))

    def one(kind: str, writer: str, **data) -> object:
        found = [e for e in events if e.kind == kind and e.writer.startswith(writer)
                 and all(e.data.get(k) == v for k, v in data.items())]  # fmt: skip
        assert len(found) == 1, (kind, writer, data, len(found))
        return found[0]

    tried = one("enqueue.tried", "producer")
    accepted = one("enqueue.accepted", "producer")
    received = one("task.received", "worker:", attempt=0)
    first = one("task.started", "worker:", attempt=0)
    retried = one("task.retried", "worker:")
    second = one("task.started", "worker:", attempt=1)
    done = one("task.finished", "worker:", attempt=1)
    finished = one("run.finished", "runner")
    # Host (producer) then container (worker): the worker reads the message after the producer
    # began to publish it (it may do so before the producer has journaled the broker's reply:
    # 32 app ms before, seen once on CI), and within 2 app s of that reply (0.2 real s at x10: a
    # BRPOP hand-over on a loaded 2-core machine; measured 0.1 app s). A worker counting from its
    # own start would be off by about 9 app s per real second between the run's origin and the
    # container's start.
    assert tried.wall <= received.wall <= accepted.wall + 2.0
    # The countdown in the worker's app time: the ETA is 60 s after the first start (+-1 s: the
    # retry is called after the task's HTTP call), and the retry starts at its ETA, not before,
    # at most 1 app s late (0.1 real s: the worker's ETA timer).
    eta = second.data["eta"]
    assert retried.data["countdown"] == 60.0
    assert 59.0 <= eta - first.wall <= 61.0
    assert eta <= second.wall <= eta + 1.0
    # Container (worker) then host (runner): the runner ends the drain after the last finish.
    assert done.wall <= finished.wall <= done.wall + 5.0
    # 60 app s of countdown took 6 real s: the whole run (docker stack start included, 5 to
    # 10 s here) well under the 60 s the countdown alone takes in real time.
    assert result.timings["wall"] < 40.0, result.timings


def test_a_worker_container_without_the_start_record_refuses_to_start(
    docker_images, tmp_path, monkeypatch
):
    import json

    from chaos.clockrecord import ENV_CLOCK_PRELOAD, ENV_CLOCK_RECORD

    original = docker_stack.dilated_worker_env

    def without_the_record(clock, env):
        # Preloaded at once, as the host's processes are: no chaos.clockrecord writes the record.
        env, _prefix = original(clock, env)
        names = json.loads(env.pop(ENV_CLOCK_RECORD))["names"]
        return {**env, "LD_PRELOAD": env.pop(ENV_CLOCK_PRELOAD),
                "FAKETIME_SHARED": " ".join(names)}, []  # fmt: skip

    monkeypatch.setattr(docker_stack, "dilated_worker_env", without_the_record)
    with pytest.raises(StackError) as raised:
        run_scenario(SCENARIO, backend="docker", out_dir=tmp_path, quiet=True)
    text = str(raised.value)
    assert "exited with code 4" in text
    assert "not on the run's dilated clock" in text and "start record" in text
