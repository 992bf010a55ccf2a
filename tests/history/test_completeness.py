"""``assess``: what a journal lacks to back a verdict, and what its run never exercised (pure)."""

from __future__ import annotations

from dataclasses import replace

from chaos.history import build_history
from chaos.history.completeness import assess, sequence_gaps
from chaos.testing import SyntheticRun


def planned_run(messages: int = 2, failpoint: bool = False) -> SyntheticRun:
    run = SyntheticRun()
    faults = [{"fault_id": "down", "type": "proxy.down", "target": "proxy"}]
    failpoints = []
    if failpoint:
        faults.append({"fault_id": "fp", "type": "failpoint", "target": "shop.x"})
        failpoints.append({"fault_id": "fp", "name": "shop.x", "end": "end_of_run"})
    run.runner.emit(0.0, "run.plan", messages=messages, by_path={"naive": messages},
                    faults=faults, failpoints=failpoints)  # fmt: skip
    run.fault("down", "proxy.down", 2.0, 3.0)
    if failpoint:
        run.fault("fp", "failpoint", 0.0, 9.0, target="shop.x")
    for number in range(messages):
        run.publish(1.0 + number, f"t{number}", f"order={number}")
        run.execute(1.1 + number, f"t{number}")
    return run


def test_a_run_that_did_what_it_planned_is_complete() -> None:
    run = planned_run()
    run.finish(10.0)
    assert assess(build_history(run.events)).missing == []


def test_a_journal_from_before_plans_and_sequence_numbers_is_judged_on_what_it_has() -> None:
    run = SyntheticRun()
    run.publish(1.0, "t1", "order=1")
    run.finish(2.0)
    unstamped = [replace(e, seq=-1) for e in run.events]
    history = build_history(unstamped)
    assert history.writer_seqs == {} and history.meta.plan is None
    assert assess(history).complete


def test_a_gap_in_a_writers_sequence_is_missing() -> None:
    run = planned_run(messages=3)
    run.finish(10.0)
    producer = [e for e in run.events if e.writer == "producer@host"]
    run.events.remove(producer[3])  # seq 3 of 0-5: an enqueue.accepted

    missing = assess(build_history(run.events)).missing

    assert missing == ["producer@host/20 lost 1 event(s) (seq 3 of 0-5)"]


def test_gaps_are_written_as_ranges() -> None:
    assert sequence_gaps({"w/1": [0, 3, 4, 7, 9]}) == ["w/1 lost 5 event(s) (seq 1-2, 5-6, 8 of 0-9)"]
    assert sequence_gaps({"w/1": [1]}) == ["w/1 lost 1 event(s) (seq 0 of 0-1)"]


def test_a_run_without_run_finished_is_missing_it() -> None:
    run = planned_run()  # killed in its drain: no run.finished
    missing = assess(build_history(run.events)).missing
    assert len(missing) == 1 and missing[0].startswith("no run.finished")


def test_fewer_publishes_tried_than_planned_is_missing() -> None:
    run = planned_run(messages=2)
    run.runner.emit(0.0, "run.plan", messages=5, by_path={"naive": 5}, faults=[], failpoints=[])
    run.finish(10.0)
    history = build_history(run.events)
    history.meta.plan = {"messages": 5, "by_path": {"naive": 5}}  # the later plan line wins
    missing = assess(history).missing
    assert missing == ["the workload tried 2 of the 5 publishes planned (naive 2 of 5): it "
                       "crashed, was cut short or could not reach the app"]  # fmt: skip


def test_a_planned_fault_never_applied_or_never_healed_is_missing() -> None:
    run = planned_run()
    run.runner.emit(4.0, "fault.applied", fault_id="late", type="worker.kill", target="w1")
    run.finish(10.0)
    history = build_history(run.events)
    history.meta.plan = {**history.meta.plan,
                         "faults": [*history.meta.plan["faults"],
                                    {"fault_id": "late", "type": "worker.kill"},
                                    {"fault_id": "never", "type": "broker.kill"}]}  # fmt: skip
    assert assess(history).missing == [
        "fault late (worker.kill) was applied and never healed",
        "fault never (broker.kill) was planned and never applied",
    ]


def test_a_failpoint_that_never_fired_is_unexercised_not_missing() -> None:
    run = planned_run(failpoint=True)
    run.finish(10.0)
    completeness = assess(build_history(run.events))
    assert completeness.complete
    assert completeness.unexercised == ["failpoint shop.x (fault fp) was armed and never fired"]

    run.runner.emit(1.2, "failpoint.fired", "t0", name="shop.x", action="raise", hit=1)
    assert assess(build_history(run.events)).unexercised == []


def test_a_disconnect_that_closed_no_connection_is_unexercised() -> None:
    run = planned_run()
    run.fault("reset", "broker.disconnect_clients", 4.0, 4.0, clients="workers", disconnected=0)
    run.fault("reset2", "broker.disconnect_clients", 5.0, 5.0, clients="all", disconnected=3)
    run.finish(10.0)
    assert assess(build_history(run.events)).unexercised == [
        "fault reset (broker.disconnect_clients, clients: workers) found no client connection "
        "to close"
    ]
