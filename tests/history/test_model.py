"""The model's answers, on records built by hand: how a task and a fault window are named, when a
task was promised and done, which attempts ran twice, which windows surround a moment."""

from __future__ import annotations

from chaos.history import (
    Attempt,
    EnqueueEvent,
    FaultWindow,
    RunHistory,
    RunMeta,
    TaskHistory,
    format_seconds,
)


def enqueue(kind: str, at: float, path: str = "durable") -> EnqueueEvent:
    return EnqueueEvent(kind, at, 0.0, "t1", "shop.tasks.send_invoice_email", path, "order=17")


def attempt(number: int, started_at: float | None, ended_at: float, outcome: str) -> Attempt:
    return Attempt(
        number, "worker-1", 100, started_at=started_at, ended_at=ended_at, outcome=outcome
    )


def window(fault_id: str, start: float, end: float | None, **params: object) -> FaultWindow:
    type_, target = ("broker.kill", "broker") if not params else ("proxy.toxic", "proxy")
    return FaultWindow(fault_id, type_, target, start, end, params)


def test_a_task_is_named_by_its_short_name_and_key() -> None:
    task = TaskHistory("t1", name="shop.tasks.send_invoice_email", key="order=17")
    assert task.label == "send_invoice_email[order=17]"
    assert TaskHistory("t2").label == "?[t2]"


def test_the_outbox_row_is_a_promise_before_the_broker_accepts() -> None:
    saved, relayed = enqueue("outbox.saved", 1.0), enqueue("outbox.relayed", 3.0)
    task = TaskHistory("t1", enqueues=[saved, relayed])
    assert task.promised_at == 1.0 and task.accepted_at == 3.0
    refused = TaskHistory("t2", enqueues=[enqueue("enqueue.refused", 2.0, path="naive")])
    assert refused.refused and not refused.accepted and refused.promised_at is None


def test_a_retry_does_not_complete_a_task_its_final_attempt_does() -> None:
    task = TaskHistory("t1", attempts=[attempt(0, 1.0, 1.5, "retry")])
    assert not task.completed and task.completed_at is None and task.final_outcome == "retry"
    task.attempts.append(attempt(1, 2.5, 3.0, "failure"))
    assert task.completed and task.completed_at == 3.0 and task.final_outcome == "failure"
    assert task.last_seen_at == 3.0


def test_only_started_attempts_count_as_duplicates() -> None:
    task = TaskHistory(
        "t1",
        attempts=[
            attempt(0, 1.0, 1.5, "success"),
            attempt(0, 1.2, 1.4, "success"),
            attempt(1, None, 2.0, "failure"),  # an end whose start was lost
            attempt(1, None, 2.1, "failure"),
        ],
    )
    assert task.duplicated_attempts() == {0: 2}


def test_a_window_covers_its_inside_shrunk_by_the_margin() -> None:
    kill = window("kill-1", 10.0, 13.0)
    assert kill.covers(10.6, margin=0.5) and not kill.covers(10.4, margin=0.5)
    assert window("open", 10.0, None).covers(1e9)
    assert kill.overlaps(12.0, None) and kill.overlaps(0.0, 10.0) and not kill.overlaps(13.1, 14)


def test_fault_windows_are_named_in_the_past_tense_with_their_family() -> None:
    assert window("kill-1", 10.0, 13.0).describe() == "broker killed 10.00 to 13.00 s"
    latency = window("lat", 1.0, None, toxic="latency")
    assert latency.kind == "proxy.toxic"
    assert latency.describe() == "proxy toxic latency 1.00 to the end of the run"
    worker = FaultWindow("wk", "worker.kill", "worker-1", 2.0, 3.0)
    assert worker.describe() == "worker killed (worker-1) 2.00 to 3.00 s"


def test_windows_around_a_moment_include_those_within_the_margin() -> None:
    windows = [window("a", 1.0, 2.0), window("b", 5.0, 6.0), window("c", 9.0, None)]
    history = RunHistory(RunMeta(), {}, windows, [], [], [], {}, 10.0, 0)
    assert [w.fault_id for w in history.windows_around(2.5, 4.5)] == ["a", "b"]
    assert [w.fault_id for w in history.windows_around(7.0, None, margin=0.0)] == ["c"]
    assert history.windows_around(None, 4.0) == []


def test_times_are_written_with_two_decimals_or_never() -> None:
    assert format_seconds(12.034) == "12.03 s" and format_seconds(None) == "never"
