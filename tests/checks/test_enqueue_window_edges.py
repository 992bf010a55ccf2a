"""``enqueue`` judges a publish by its whole span: tried and answered inside the outage."""

from __future__ import annotations

from chaos.checks import run_checks
from chaos.history import build_history
from chaos.testing import SyntheticRun

from .runs import KILL_END, KILL_START, clean_run

REFUSED = [{"check": "enqueue", "during_outage": "refused"}]


def verdict_of(run: SyntheticRun):
    (verdict,) = run_checks(build_history(run.events), REFUSED)
    return verdict


def test_publish_answered_by_the_restarted_broker_is_not_an_outage_publish() -> None:
    run = clean_run()
    # Tried 0.5 s before the heal, retried by Celery's publish policy, accepted 0.9 s later by the
    # restarted Redis: it met a live broker, so "refused during the outage" is not broken.
    run.publish(KILL_END - 0.5, "edge", "order=80", seconds=0.9)
    run.execute(KILL_END + 0.5, "edge", worker=1)

    assert verdict_of(run).ok


def test_publish_accepted_inside_the_outage_still_breaks_the_promise() -> None:
    run = clean_run()
    run.publish(KILL_START + 1.0, "inside", "order=81", seconds=0.5)
    run.execute(KILL_END + 0.5, "inside", worker=1)

    verdict = verdict_of(run)

    assert not verdict.ok
    assert "inside" in verdict.tasks
