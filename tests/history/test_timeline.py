"""The common timeline: times since the run's start, writers' skewed wall clocks corrected by the
shared monotonic clock, a writer on another clock placed by its wall time, ties broken by writer,
pid and sequence."""

from __future__ import annotations

import pytest

from chaos.history import build_history, format_seconds, order_events
from chaos.testing import SyntheticRun


def test_times_are_relative_to_the_run_start() -> None:
    run = SyntheticRun()
    run.publish(12.03, "t1", "order=17")
    history = build_history(run.events)
    assert format_seconds(history.tasks["t1"].enqueues[0].at) == "12.03 s"
    assert history.tasks["t1"].accepted_at == pytest.approx(12.032)


def test_skewed_wall_clock_is_corrected_by_the_shared_monotonic_clock() -> None:
    run = SyntheticRun()
    run.worker(1, skew=-4.0)  # the worker's wall clock runs 4 s behind the runner's
    run.publish(1.0, "t1", "order=1")
    run.execute(1.5, "t1")
    history = build_history(run.events)
    assert history.tasks["t1"].attempts[0].started_at == pytest.approx(1.505)
    assert history.clock_skews == {"worker-1@host": pytest.approx(-4.0)}


def test_writer_on_another_clock_is_placed_by_its_wall_time() -> None:
    run = SyntheticRun()
    run.publish(1.0, "t1", "order=1")
    run.execute(1.5, "t1")
    for event_index, event in enumerate(run.events):
        if event.writer.startswith("worker"):
            # Another boot: monotonic clock a day apart, wall clock right.
            run.events[event_index] = type(event)(**{**_fields(event), "mono": event.mono + 86400})
    history = build_history(run.events)
    assert history.tasks["t1"].attempts[0].started_at == pytest.approx(1.505)
    assert history.clock_skews == {}


def _fields(event: object) -> dict:
    return {name: getattr(event, name) for name in event.__slots__}  # type: ignore[attr-defined]


def test_events_at_one_time_are_ordered_by_writer_pid_and_seq() -> None:
    run = SyntheticRun()
    parent, child = run.worker(1)
    for writer in (child, run.producer, parent, child, run.producer):
        writer.emit(2.0, "phase", name=f"{writer.name}/{writer.pid}/{writer.seq}")
    events = list(reversed(run.events))
    ordered, times, _ = order_events(events)
    at_two = [(e.writer, e.pid, e.seq) for e, at in zip(ordered, times) if at == 2.0]
    assert at_two == sorted(at_two)
    assert len(at_two) == 5
