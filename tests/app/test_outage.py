"""The seed's FAQ claim made precise: what each enqueue path does while Redis is down.

"If Redis goes down, tasks are neither sent nor picked up; things resume once it is back."
Measured here with a real Redis that is killed, not a mock: the seed's ``.delay()`` fails the
request after the order row was saved, and that invoice is never sent; the outbox path answers
normally and its task runs exactly once after Redis is back.
"""

from __future__ import annotations

import pytest
from django.test import Client

from chaos.stack.base import Stack

from .support import journal_events, wait_for

pytestmark = pytest.mark.chaos


def invoice_sent(order_pk: int) -> bool:
    from shop.models import Order

    return Order.objects.filter(pk=order_pk, invoice_sent_at__isnull=False).exists()


def test_naive_path_fails_the_request_and_the_invoice_is_never_sent(
    shop: Stack, client: Client
) -> None:
    from kombu.exceptions import OperationalError
    from shop.models import Order

    shop.broker.kill()
    try:
        response = client.post("/orders/", {"customer_email": "naive@example.com"})
        raising = Client(raise_request_exception=True)
        with pytest.raises(OperationalError):
            raising.post("/orders/", {"customer_email": "naive-2@example.com"})
    finally:
        shop.broker.start()

    assert response.status_code == 500
    lost = Order.objects.get(customer_email="naive@example.com")  # saved before .delay() raised
    assert lost.invoice_sent_at is None

    # Once Redis is back, a new order flows again ...
    client.post("/orders/", {"customer_email": "after@example.com"})
    after = Order.objects.get(customer_email="after@example.com")
    wait_for(lambda: invoice_sent(after.pk), timeout=40, what="an order placed after the restart")
    # ... and the one placed during the outage was never enqueued, so it never runs.
    shop.wait_queues_empty(timeout=10)
    assert not invoice_sent(lost.pk)


def test_durable_path_answers_during_the_outage_and_delivers_exactly_once(
    shop: Stack, client: Client
) -> None:
    from shop.models import Order, OutboxMessage
    from shop.outbox import relay_pending

    shop.broker.kill()
    try:
        response = client.post("/orders/durable/", {"customer_email": "durable@example.com"})
        order = Order.objects.get(customer_email="durable@example.com")
        pending = OutboxMessage.objects.get(args=[order.pk])
        assert response.status_code == 200
        assert pending.sent_at is None
        assert pending.publish_attempts == 1  # the publish after commit was tried and refused
    finally:
        shop.broker.start()

    report = wait_for(
        lambda: relay_pending().sent, timeout=20, what="the relay's publish to be accepted"
    )
    task_id = str(pending.task_id)
    assert report == [task_id]
    wait_for(lambda: invoice_sent(order.pk), timeout=40, what="the relayed invoice task")
    shop.wait_queues_empty(timeout=10)
    assert relay_pending().sent == []  # marked sent: nothing left to publish
    assert len(journal_events(shop, "task.started", task_id)) == 1
