"""The history builder on synthetic journals: grouping by task id, attempts, duplicates, times on
the run's timeline, partial last lines, shuffled lines and skewed clocks."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from chaos.errors import ConfigError
from chaos.history import build_history, format_seconds, load_history, order_events
from chaos.journal import JOURNAL_FILE, JournalWriter
from chaos.testing import SyntheticRun


def test_retries_share_one_task_history_with_numbered_attempts() -> None:
    run = SyntheticRun()
    run.retried_task(1.0, "t1", "order=1", attempts=3, countdown=1.0, final="success")
    task = build_history(run.events).tasks["t1"]
    assert [a.attempt for a in task.attempts] == [0, 1, 2]
    assert [a.outcome for a in task.attempts] == ["retry", "retry", "success"]
    assert task.attempts[0].countdown == 1.0
    assert task.key == "order=1" and task.label == "send_invoice_email[order=1]"
    assert task.attempts[1].started_at == pytest.approx(2.07)
    assert task.attempts[1].worker == "worker-1"
    assert task.attempts[1].received_at == pytest.approx(2.065)


def test_times_are_relative_to_the_run_start() -> None:
    run = SyntheticRun()
    run.publish(12.03, "t1", "order=17")
    history = build_history(run.events)
    assert format_seconds(history.tasks["t1"].enqueues[0].at) == "12.03 s"
    assert history.tasks["t1"].accepted_at == pytest.approx(12.032)


def test_duplicate_delivery_is_two_executions_of_one_attempt() -> None:
    run = SyntheticRun()
    run.publish(1.0, "t1", "order=1")
    run.execute(1.1, "t1", 0, "success", worker=1, duration=2.0)
    run.execute(1.2, "t1", 0, "success", worker=2, duration=0.1, redelivered=True)
    task = build_history(run.events).tasks["t1"]
    assert task.duplicated_attempts() == {0: 2}
    # Ends matched to their own process, although the second attempt finished first.
    by_worker = {a.worker: a for a in task.attempts}
    assert by_worker["worker-1"].ended_at == pytest.approx(3.105)
    assert by_worker["worker-2"].ended_at == pytest.approx(1.305)
    assert by_worker["worker-2"].redelivered


def test_fault_windows_healed_and_still_open() -> None:
    run = SyntheticRun()
    run.fault("kill-1", "broker.kill", 2.0, 5.0)
    run.fault("lat-1", "proxy.toxic", 6.0, None, toxic="latency", attributes={"latency": 500})
    windows = build_history(run.events).fault_windows
    assert [(w.fault_id, w.start, w.end) for w in windows] == [
        ("kill-1", 2.0, 5.0),
        ("lat-1", 6.0, None),
    ]
    assert windows[0].describe() == "broker killed 2.00 to 5.00 s"
    assert windows[1].describe() == "proxy toxic latency 6.00 to the end of the run"


def test_outbox_events_without_task_id_join_their_task_by_key() -> None:
    run = SyntheticRun()
    run.producer.emit(1.0, "outbox.saved", None, key="order=3")
    run.publish(2.0, "t3", "order=3", path="durable")
    task = build_history(run.events).tasks["t3"]
    assert task.enqueues[0].kind == "outbox.saved"
    assert task.promised_at == pytest.approx(1.0)


def test_an_end_without_its_start_is_kept_as_an_attempt() -> None:
    run = SyntheticRun()
    _, child = run.worker(1)
    child.emit(1.0, "task.failed", "t1", "x", attempt=0, exc_type="builtins.ValueError")
    task = build_history(run.events).tasks["t1"]
    assert len(task.attempts) == 1 and task.attempts[0].started_at is None
    assert task.attempts[0].outcome == "failure"


def test_partial_last_line_is_skipped_and_flagged(tmp_path: Path) -> None:
    run = SyntheticRun()
    run.publish(1.0, "t1", "order=1")
    run.write(tmp_path, partial_tail='{"kind":"task.started","wa')
    history = load_history(tmp_path)
    assert history.partial_last_line
    assert history.event_count == len(run.events)
    assert load_history(tmp_path / JOURNAL_FILE).tasks.keys() == {"t1"}


def test_shuffled_lines_give_the_same_history(tmp_path: Path) -> None:
    run = SyntheticRun()
    run.retried_task(1.0, "t1", "order=1", attempts=2, countdown=0.5, final="failure")
    run.fault("kill-1", "broker.kill", 2.0, 3.0)
    run.write(tmp_path / "a")
    run.write(tmp_path / "b", shuffle_seed=7)
    first, second = load_history(tmp_path / "a"), load_history(tmp_path / "b")
    first.source = second.source = None
    assert first == second


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


def test_journal_from_the_real_writer_reads_back(tmp_path: Path) -> None:
    with JournalWriter.for_run_dir(tmp_path, "runner@test") as writer:
        writer.write("run.started", run_id="r", scenario="s", seed=1, backend="local")
        writer.write("enqueue.tried", task_id="t1", task="shop.tasks.x", path="naive", key="k")
        writer.write("enqueue.accepted", task_id="t1", task="shop.tasks.x", path="naive", key="k")
    history = load_history(tmp_path)
    assert history.meta.seed == 1 and history.tasks["t1"].accepted
    assert 0.0 <= history.tasks["t1"].accepted_at < 5.0  # one process, same clock: tiny


def test_missing_journal_is_a_config_error_naming_the_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no journal here"):
        load_history(tmp_path)


def test_a_malformed_line_inside_the_journal_names_file_and_line(tmp_path: Path) -> None:
    run = SyntheticRun()
    run.publish(1.0, "t1", "order=1")
    path = run.write(tmp_path)
    lines = path.read_text().splitlines(keepends=True)
    lines.insert(2, "{not json\n")
    path.write_text("".join(lines))
    with pytest.raises(ConfigError, match=r"journal.jsonl:3"):
        load_history(tmp_path)


def test_outbox_events_whose_key_never_gets_a_task_id_form_a_task_of_their_own() -> None:
    run = SyntheticRun()
    run.producer.emit(1.0, "outbox.saved", None, key="order=3")
    run.producer.emit(1.5, "outbox.saved", None, key="order=3")
    history = build_history(run.events)
    assert list(history.tasks) == ["key:order=3"]
    assert [e.at for e in history.tasks["key:order=3"].enqueues] == [1.0, 1.5]


def test_a_line_holding_two_events_names_file_and_line(tmp_path: Path) -> None:
    run = SyntheticRun()
    run.publish(1.0, "t1", "order=1")
    path = run.write(tmp_path)
    lines = path.read_text().splitlines()
    lines[1] = f"{lines[1]},{lines[2]}"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match=r"journal.jsonl:2"):
        load_history(tmp_path)


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    run = SyntheticRun()
    run.publish(1.0, "t1", "order=1")
    path = run.write(tmp_path)
    path.write_text(path.read_text().replace("\n", "\n\n", 1))
    history = load_history(tmp_path)
    assert history.event_count == len(run.events) and history.tasks["t1"].accepted


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


def test_building_leaves_objects_the_process_froze_frozen() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        run = SyntheticRun()
        run.publish(1.0, "t1", "order=1")
        build_history(run.events)
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
