"""The seed's flow for real: a view places an order, a real worker sends its invoice."""

from __future__ import annotations

import pytest
from django.test import Client
from django_celery_results.models import TaskResult

from chaos.stack.base import Stack

from .support import journal_events, wait_for

pytestmark = pytest.mark.chaos


def test_order_placed_through_the_view_is_invoiced_by_the_worker(
    shop: Stack, client: Client
) -> None:
    from shop.models import Order

    response = client.post("/orders/", {"customer_email": "ada@example.com", "item": "livre"})

    assert response.status_code == 200
    order = Order.objects.get(customer_email="ada@example.com")
    result = wait_for(
        lambda: TaskResult.objects.filter(
            task_name="shop.tasks.send_invoice_email", status="SUCCESS", result=str(order.pk)
        ).first(),
        timeout=20,
        what="the invoice task's SUCCESS row in django_celery_results",
    )
    order.refresh_from_db()
    assert order.invoice_sent_at is not None
    assert len(journal_events(shop, "task.succeeded", result.task_id)) == 1


def test_order_page_shows_what_the_tasks_did(shop: Stack, client: Client) -> None:
    from shop.models import Order

    client.post("/orders/", {"customer_email": "page@example.com", "item": "stylo"})
    order = Order.objects.get(customer_email="page@example.com")
    wait_for(
        lambda: Order.objects.filter(pk=order.pk, invoice_sent_at__isnull=False).exists(),
        timeout=20,
        what="the invoice to be stamped on the order",
    )

    page = client.get(f"/orders/{order.pk}/")

    assert page.status_code == 200
    assert "Facture envoyée" in page.content.decode()
    assert "pas encore" in page.content.decode()  # no pickup booked yet


def test_the_admin_lists_task_results(shop: Stack, client: Client) -> None:
    from django.contrib.auth.models import User

    User.objects.filter(username="admin").delete()
    User.objects.create_superuser("admin", "admin@example.com", "not-a-secret-in-tests")
    client.force_login(User.objects.get(username="admin"))

    page = client.get("/admin/django_celery_results/taskresult/")

    assert page.status_code == 200
