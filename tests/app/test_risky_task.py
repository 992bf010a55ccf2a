"""The seed's FAQ retry example, exactly as written (countdown=60), against a failing carrier.

These take minutes because the countdown is the seed's 60 s; both plans run at once on one stack
so the module costs one retry ladder (about 3 minutes), not two.
"""

from __future__ import annotations

import itertools

import pytest
from django_celery_results.models import TaskResult

from chaos.stack.base import Stack
from chaos.stubs import StubEndpoint

from .support import journal_events, wait_for

pytestmark = [pytest.mark.chaos, pytest.mark.slow]

COUNTDOWN = 60.0
# The retry is published at the end of the failing attempt with eta = now + 60 s; the worker holds
# the message and starts it when due (measured 0.01 to 0.1 s late). The upper bound allows a busy
# CI machine; the lower bound allows only clock granularity.
EARLY_TOLERANCE = 0.5
LATE_TOLERANCE = 5.0


def test_risky_task_retries_exactly_as_declared(shop: Stack, carrier: StubEndpoint) -> None:
    from shop.models import Order
    from shop.tasks import risky_task

    always = Order.objects.create(customer_email="always@example.com", item="colis")
    twice = Order.objects.create(customer_email="twice@example.com", item="colis")
    carrier.fail_first = {str(always.pk): None, str(twice.pk): 2}

    failing = risky_task.delay(always.pk)
    recovering = risky_task.delay(twice.pk)

    ladder = 3 * COUNTDOWN + 3 * LATE_TOLERANCE + 30
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
    # The countdown between attempts, as the carrier saw them.
    for hits in (hits_always, hits_twice):
        gaps = [later.wall - earlier.wall for earlier, later in itertools.pairwise(hits)]
        for gap in gaps:
            assert COUNTDOWN - EARLY_TOLERANCE <= gap <= COUNTDOWN + LATE_TOLERANCE, gaps
