"""The seed's FAQ retry example, exactly as written (countdown=60), against a failing carrier.

The countdown is the seed's 60 s, so the ladder takes three minutes of the app's time; both plans
run at once on one stack so the module pays for one ladder, not two. The workers run on the
dilated clock x10 (chaos.clock: about 20 s of real time; ``--chaos-dilation 1`` runs it in real
time, as a machine without libfaketime does) and every assertion is on the app's time: the
workers' own journal stamps, and the carrier's real times converted by the run's clock.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest
from django_celery_results.models import TaskResult

from chaos.checks.allowance import machine_allowance
from chaos.clock import AppClock, ClockError, preload_libraries
from chaos.pytest.options import options_for
from chaos.stack import StackConfig, open_stack
from chaos.stack.base import Stack
from chaos.stubs import StubEndpoint

from .support import journal_events, wait_for

pytestmark = [pytest.mark.chaos, pytest.mark.slow]

COUNTDOWN = 60.0
#: The app's clock runs this many times faster than real time (unless --chaos-dilation says).
DILATION = 10.0
# The retry is published at the end of the failing attempt with eta = now + 60 s; the worker holds
# the message and starts it when due (measured 0.01 to 0.1 s late). The upper bound allows a busy
# CI machine; the lower bound allows only clock granularity. Both are the machine's latency, in
# real seconds: N times as many app seconds under the dilated clock (chaos.checks.allowance).
EARLY_TOLERANCE = 0.5
LATE_TOLERANCE = 5.0


@pytest.fixture(scope="module")
def app_clock(request: pytest.FixtureRequest) -> Iterator[AppClock]:
    """x10, or --chaos-dilation's; real time on a machine that cannot preload libfaketime."""
    asked = options_for(request.config).dilation
    clock = AppClock(DILATION if asked is None else asked)
    if clock.dilated and asked is None:
        try:
            preload_libraries()
        except ClockError as exc:  # capped as a scenario's own clock: is (chaos.runner.clocking)
            clock = AppClock(1.0)
            clock.capped = str(exc)
    with clock:
        yield clock


@pytest.fixture(scope="module")
def shop_stack(
    tmp_path_factory: pytest.TempPathFactory, carrier: StubEndpoint, app_clock: AppClock
) -> Iterator[Stack]:
    """The conftest's stack, its workers on the app's clock."""
    config = StackConfig(
        run_dir=tmp_path_factory.mktemp("shop-run"),
        env={"CARRIER_URL": carrier.url, **app_clock.env(os.environ.get("LD_PRELOAD"))},
        clock=app_clock,
    )
    with open_stack(config) as stack:
        yield stack


def test_risky_task_retries_exactly_as_declared(
    shop: Stack, carrier: StubEndpoint, app_clock: AppClock
) -> None:
    from shop.models import Order
    from shop.tasks import risky_task

    always = Order.objects.create(customer_email="always@example.com", item="colis")
    twice = Order.objects.create(customer_email="twice@example.com", item="colis")
    carrier.fail_first = {str(always.pk): None, str(twice.pk): 2}

    failing = risky_task.delay(always.pk)
    recovering = risky_task.delay(twice.pk)

    early = machine_allowance(app_clock.dilation, EARLY_TOLERANCE)
    late = machine_allowance(app_clock.dilation, LATE_TOLERANCE)
    ladder = app_clock.real_seconds(3 * COUNTDOWN) + 3 * LATE_TOLERANCE + 30  # real s
    hits_always = carrier.wait_for_hits(4, timeout=ladder, key=str(always.pk))
    hits_twice = carrier.wait_for_hits(3, timeout=ladder, key=str(twice.pk))
    final = wait_for(
        lambda: TaskResult.objects.filter(task_id=failing.id, status="FAILURE").first(),
        timeout=30,
        what="risky_task's FAILURE row",
    )
    wait_for(
        lambda: TaskResult.objects.filter(task_id=recovering.id, status="SUCCESS").exists(),
        timeout=30,
        what="risky_task's SUCCESS row",
    )

    # Failing always: 4 attempts (1 + max_retries), retries 0..3, then the original exception.
    started = journal_events(shop, "task.started", failing.id)
    assert [event.data["attempt"] for event in started] == [0, 1, 2, 3]
    assert [hit.status for hit in hits_always] == [503, 503, 503, 503]
    assert "EndpointError" in final.result
    failed = journal_events(shop, "task.failed", failing.id)
    assert [event.data["exc_type"] for event in failed] == ["shop.endpoints.EndpointError"]
    # Failing twice: 3 attempts, then success.
    started = journal_events(shop, "task.started", recovering.id)
    assert [event.data["attempt"] for event in started] == [0, 1, 2]
    assert [hit.status for hit in hits_twice] == [503, 503, 200]
    assert Order.objects.get(pk=twice.pk).pickup_booked_at is not None
    assert Order.objects.get(pk=always.pk).pickup_booked_at is None
    # The countdown between attempts in the app's time: as the workers stamped the starts, and as
    # the carrier (this process, real time) saw the calls, converted by the run's clock. Both
    # agreeing is also what proves the workers ran on that clock.
    for task_id, hits in ((failing.id, hits_always), (recovering.id, hits_twice)):
        starts = [event.wall for event in journal_events(shop, "task.started", task_id)]
        called = [app_clock.app_seconds(hit.wall - hits[0].wall) for hit in hits]
        for times in (starts, called):
            gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
            assert all(COUNTDOWN - early <= gap <= COUNTDOWN + late for gap in gaps), (
                gaps, app_clock.dilation)  # fmt: skip
