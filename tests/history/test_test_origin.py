"""A pytest test's slice of a session journal counts from the test's own start (``test.started``,
written by the ``chaos_journal`` fixture), as a run counts from ``run.started``."""

from __future__ import annotations

from chaos.history import build_history
from chaos.journal import Event

WALL = 1_800_000_000.0


def event(kind: str, at: float, writer: str, pid: int, seq: int, **data: object) -> Event:
    return Event(kind, WALL + at, 500.0 + at, writer, pid, seq, data=data)


def test_a_slice_counts_from_its_test_started_not_from_its_first_event() -> None:
    events = [
        event("test.started", 0.0, "test@vm", 7, 0, test="tests/test_x.py::test_y"),
        event("worker.ready", 1.5, "worker:worker-1", 9, 0, hostname="worker-1"),
        event("worker.connection_lost", 4.0, "worker:worker-1", 9, 1, hostname="worker-1"),
    ]
    history = build_history(events)
    lost = next(e for e in history.worker_events if e.kind == "worker.connection_lost")
    assert lost.at == 4.0  # from the test's start; without test.started it read 2.5 s


def test_a_runs_own_start_wins_over_a_test_started() -> None:
    events = [
        event("test.started", 0.0, "test@vm", 7, 0, test="t"),
        event("run.started", 1.0, "runner@vm", 8, 0, run_id="r"),
        event("worker.connection_lost", 4.0, "worker:worker-1", 9, 0, hostname="worker-1"),
    ]
    lost = build_history(events).worker_events[0]
    assert lost.at == 3.0
