# shop/tasks.py -- step 5 of the seed and the order steps around it.
"""The shop's background work, each task with the retry style real teams use for it.

- ``send_invoice_email``: the seed's first task, as written (plus stamping the order).
- ``risky_task``: the seed's FAQ example as written (``bind=True, max_retries=3``,
  ``self.retry(exc=e, countdown=60)``), with a real body: booking the carrier's pickup.
- ``notify_warehouse``: ``autoretry_for`` with exponential backoff and jitter.
- ``print_shipping_label``: ``acks_late=True``, because a label must not be lost when a worker dies.
"""

from celery import shared_task
from django.utils import timezone

from chaos import failpoint

from . import endpoints
from .models import Order


@shared_task
def send_invoice_email(order_id):
    # Imagine that this sends an e-mail (the seed's step 5).
    failpoint("shop.send_invoice_email")
    print(f"Envoi de l'e-mail de facture pour la commande {order_id}")
    Order.objects.filter(pk=order_id).update(invoice_sent_at=timezone.now())
    return order_id


@shared_task(bind=True, max_retries=3)
def risky_task(self, order_id):
    try:
        failpoint("shop.carrier")
        endpoints.book_pickup(order_id)
    except Exception as e:
        raise self.retry(exc=e, countdown=60)  # noqa: B904 (the seed's FAQ, as written)
    Order.objects.filter(pk=order_id).update(pickup_booked_at=timezone.now())
    return order_id


@shared_task(
    autoretry_for=(endpoints.EndpointError,),
    retry_backoff=True,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=5,
)
def notify_warehouse(order_id):
    failpoint("shop.warehouse")
    endpoints.notify_warehouse(order_id)
    Order.objects.filter(pk=order_id).update(warehouse_notified_at=timezone.now())
    return order_id


@shared_task(acks_late=True)
def print_shipping_label(order_id):
    failpoint("shop.label_printer")
    order = Order.objects.get(pk=order_id)
    label = f"{order.customer_email}\n{order.quantity} x {order.item}\ncommande {order.pk}"
    Order.objects.filter(pk=order_id).update(label_printed_at=timezone.now())
    return label
