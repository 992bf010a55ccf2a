"""Several Docker engines: the list, round-robin by xdist worker, and clean asking each engine."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chaos.cli import main
from chaos.stack.docker.engines import docker_hosts, engine_for_worker, use_engine_for_worker

FIRST = "unix:///var/run/docker.sock"
SECOND = "tcp://127.0.0.1:2385"


def test_hosts_are_read_in_order_without_blanks_or_duplicates() -> None:
    assert docker_hosts(f" {FIRST}, ,{SECOND},{FIRST}") == [FIRST, SECOND]
    assert docker_hosts("") == []


@pytest.mark.parametrize(
    ("worker_id", "expected"),
    [("main", FIRST), ("gw0", FIRST), ("gw1", SECOND), ("gw2", FIRST), ("gw7", SECOND)],
)
def test_xdist_workers_take_engines_round_robin(worker_id: str, expected: str) -> None:
    assert engine_for_worker([FIRST, SECOND], worker_id) == expected


def test_no_hosts_leaves_docker_host_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///elsewhere.sock")
    assert use_engine_for_worker("gw1", "") is None
    assert os.environ["DOCKER_HOST"] == "unix:///elsewhere.sock"
    assert use_engine_for_worker("gw1", f"{FIRST},{SECOND}") == SECOND
    assert os.environ["DOCKER_HOST"] == SECOND


def test_clean_asks_every_engine_it_knows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CHAOS_STATE_DIR", str(tmp_path / "state"))
    first, second = f"unix://{tmp_path / 'one.sock'}", f"unix://{tmp_path / 'two.sock'}"
    monkeypatch.setenv("CHAOS_DOCKER_HOSTS", f"{first},{second}")

    assert main(["clean"]) == 0

    printed = capsys.readouterr().out
    assert f"no Docker engine answers at {first}" in printed
    assert f"no Docker engine answers at {second}" in printed
