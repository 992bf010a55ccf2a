"""Random runs for the history's properties: tasks planned as (outcome, time, worker), a worker
with a skewed wall clock, and a broker kill if asked."""

from __future__ import annotations

from hypothesis import strategies as st

from chaos.history import RunHistory
from chaos.testing import SyntheticRun

OUTCOMES = ("success", "retry-success", "failure", "duplicate", "refused", "unfinished")

task_plans = st.lists(
    st.tuples(
        st.sampled_from(OUTCOMES),
        st.floats(min_value=0.0, max_value=30.0, allow_nan=False),
        st.integers(min_value=1, max_value=3),
    ),
    min_size=1,
    max_size=12,
)
skews = st.floats(min_value=-30.0, max_value=30.0, allow_nan=False)


def synthetic_run(
    plans: list[tuple[str, float, int]], skew: float, with_fault: bool
) -> SyntheticRun:
    run = SyntheticRun()
    run.worker(2, skew=skew)
    if with_fault:
        run.fault("kill-1", "broker.kill", 5.0, 8.0)
    for index, (outcome, at, worker) in enumerate(plans):
        task_id, key = f"t{index}", f"order={index}"
        if outcome == "refused":
            run.publish(at, task_id, key, outcome="refused")
            continue
        run.publish(at, task_id, key)
        if outcome == "retry-success":
            run.retried_task(
                at, f"{task_id}r", f"{key}r", attempts=2, countdown=0.5, final="success"
            )
        if outcome == "duplicate":
            run.execute(at + 0.1, task_id, worker=worker)
            run.execute(at + 0.11, task_id, worker=1 + worker % 3, redelivered=True)
        elif outcome == "unfinished":
            run.execute(at + 0.1, task_id, outcome="none", worker=worker)
        else:
            final = "failure" if outcome == "failure" else "success"
            run.execute(at + 0.1, task_id, outcome=final, worker=worker)
    run.finish(40.0)
    return run


def comparable(history: RunHistory) -> RunHistory:
    """The history without what says where and how it was read."""
    history.source = None
    history.partial_last_line = False
    return history
