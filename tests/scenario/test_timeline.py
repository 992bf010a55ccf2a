"""Timeline resolution: every choice drawn from the seed, so the same seed gives the same run."""

from __future__ import annotations

from chaos.scenario import ResolvedTimeline, load_scenario_text, resolve_timeline

RANDOM_SCENARIO = """\
name: random-choices
topology: {workers: 3}
workload:
  - count: 5
    rate: 10/s
    at: {between: [0s, 2s]}
faults:
  - id: kill-one
    type: worker.kill
    worker: any
    at: {between: [1s, 9s]}
    for: 2s
  - type: failpoint
    name: shop.send_invoice_email
    raise: builtins.RuntimeError
    probability: 0.5
    after: first_task_started + 500ms
  - type: proxy.down
    at: 20s
    until: queue_empty
    deadline: 10s
expect: [{check: no_lost}]
"""


def resolved(seed: int) -> ResolvedTimeline:
    return resolve_timeline(load_scenario_text(RANDOM_SCENARIO).scenario, seed)


def test_same_seed_same_resolved_timeline() -> None:
    assert resolved(42) == resolved(42)
    assert resolved(42).model_dump_json() == resolved(42).model_dump_json()


def test_different_seeds_draw_differently() -> None:
    draws = {
        (t.faults[0].start_offset, t.faults[0].target, t.workload[0].start)
        for t in (resolved(seed) for seed in range(20))
    }
    assert len(draws) > 10


def test_draws_stay_inside_their_ranges_and_name_a_real_worker() -> None:
    for seed in range(50):
        timeline = resolved(seed)
        kill = timeline.faults[0]
        assert 1.0 <= kill.start_offset <= 9.0
        assert kill.target in ("worker-1", "worker-2", "worker-3")
        assert 0.0 <= timeline.workload[0].start <= 2.0


def test_relative_times_stay_tied_to_their_event() -> None:
    failpoint = resolved(1).faults[1]
    assert (failpoint.start_event, failpoint.start_offset) == ("first_task_started", 0.5)
    assert failpoint.end.kind == "end_of_run"
    down = resolved(1).faults[2]
    assert (down.end.kind, down.end.condition, down.end.deadline) == ("until", "queue_empty", 10.0)


def test_adding_a_fault_does_not_change_the_draws_of_the_others() -> None:
    extra = RANDOM_SCENARIO.replace(
        "expect:", "  - {type: broker.pause, at: {between: [30s, 40s]}, for: 1s}\nexpect:"
    )
    longer = resolve_timeline(load_scenario_text(extra).scenario, 7)
    assert longer.faults[:3] == resolved(7).faults


def test_the_resolved_timeline_round_trips_through_json() -> None:
    timeline = resolved(3)
    assert ResolvedTimeline.model_validate_json(timeline.model_dump_json()) == timeline
    assert timeline.workload[0].send_times() == [
        timeline.workload[0].start + n * 0.1 for n in range(5)
    ]


def test_a_valid_scenario_never_draws_a_start_at_or_after_its_timeout() -> None:
    # validation judges a range by its upper end, so no seed can draw a start the run never reaches
    text = RANDOM_SCENARIO.replace("at: 20s", "at: {between: [15s, 20999ms]}").replace(
        "expect:", "timeout: 21s\nexpect:"
    )
    scenario = load_scenario_text(text).scenario
    for seed in range(1, 200):
        timeline = resolve_timeline(scenario, seed)
        starts = [f.start_offset for f in timeline.faults if f.start_event == "run_started"]
        starts += [stream.start for stream in timeline.workload]
        assert max(starts) < scenario.timeout
