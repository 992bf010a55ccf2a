# shop/views.py -- step 6 of the seed, with a real order, plus the durable path beside it.
"""Two ways to place an order, so the suite can compare them under faults.

``place_order`` is the seed's code: save, then ``send_invoice_email.delay(order.id)``. When Redis is
down the ``.delay()`` raises and the request fails with a 500 after the order row was saved.
``place_order_durable`` saves the order and its pending task in one transaction (the outbox) and
answers normally during an outage; the relay delivers the task once the broker is back.
"""

from django.db import transaction
from django.shortcuts import get_object_or_404, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_celery_results.models import TaskResult

from .models import Order, OutboxMessage
from .outbox import enqueue_durably
from .tasks import send_invoice_email


def _order_from(request) -> Order:
    return Order(
        customer_email=request.POST.get("customer_email", "client@example.com"),
        item=request.POST.get("item", "livre"),
        quantity=int(request.POST.get("quantity", 1)),
    )


@csrf_exempt
@require_POST
def place_order(request):
    order = _order_from(request)
    order.save()

    # exécuter la tâche en arrière-plan
    send_invoice_email.delay(order.id)

    return render(request, "shop/order_complete.html", {"order": order})


@csrf_exempt
@require_POST
def place_order_durable(request):
    with transaction.atomic():
        order = _order_from(request)
        order.save()
        enqueue_durably("shop.tasks.send_invoice_email", order.id)
    return render(request, "shop/order_complete.html", {"order": order})


def order_detail(request, order_id: int):
    order = get_object_or_404(Order, pk=order_id)
    outbox = [m for m in OutboxMessage.objects.all() if m.args[:1] == [order.pk]]
    results = TaskResult.objects.filter(task_id__in=[str(m.task_id) for m in outbox])
    return render(
        request,
        "shop/order_detail.html",
        {"order": order, "outbox": outbox, "results": results},
    )
