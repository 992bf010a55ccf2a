"""Billing tasks, registered under explicit names (``billing.*``) on the ``billing`` queue."""

import time

from celery import chain
from django.conf import settings
from django.utils import timezone

from billing import gateway
from billing.models import Invoice
from config.celery_app import app


@app.task(name="billing.charge_invoice", bind=True, max_retries=3, default_retry_delay=1,
          acks_late=True, reject_on_worker_lost=True)
def charge_invoice(self, invoice_id):
    invoice = Invoice.objects.get(pk=invoice_id)  # DoesNotExist without seed_customers
    Invoice.objects.filter(pk=invoice_id).update(attempts=invoice.attempts + 1)
    try:
        reference = gateway.charge(invoice, self.request.retries)
    except gateway.GatewayUnavailable as exc:
        raise self.retry(exc=exc, countdown=1)
    Invoice.objects.filter(pk=invoice_id).update(status="charged", charged_at=timezone.now())
    return reference


@app.task(name="billing.send_receipt")
def send_receipt(invoice_id):
    Invoice.objects.filter(pk=invoice_id, status="charged").update(status="receipted")
    return invoice_id


@app.task(name="billing.bill_customer")
def bill_customer(customer_id):
    """Charge the customer's open invoice, then send its receipt: a chain."""
    invoice = Invoice.objects.filter(customer_id=customer_id).order_by("pk").first()
    if invoice is None:
        raise LookupError(f"customer {customer_id} has no invoice (run seed_customers)")
    chain(charge_invoice.si(invoice.pk), send_receipt.si(invoice.pk)).apply_async()
    return invoice.pk


@app.task(name="billing.await_settlement", bind=True, max_retries=None)
def await_settlement(self, invoice_id, deadline_seconds=10.0, started=None):
    """Poll the gateway until the charge settles or the deadline passes: unbounded retries."""
    started = started if started is not None else time.time()
    invoice = Invoice.objects.get(pk=invoice_id)
    settled = (invoice.charged_at is not None and
               time.time() - invoice.charged_at.timestamp() >= settings.SETTLE_AFTER_SECONDS)
    if settled:
        Invoice.objects.filter(pk=invoice_id).update(status="settled")
        return "settled"
    if time.time() - started > deadline_seconds:
        raise TimeoutError(f"invoice {invoice_id} not settled within {deadline_seconds} s")
    raise self.retry(args=(invoice_id, deadline_seconds, started), kwargs={}, countdown=0.2)


@app.task(name="billing.close_invoice")
def close_invoice(invoice_id):
    """Close the invoice and hand its archiving to the archive service's own queue ("archive",
    which this project's workers do not consume; not in task_queues, so Celery creates it)."""
    Invoice.objects.filter(pk=invoice_id).update(status="closed")
    archive_invoice.apply_async((invoice_id,), queue="archive")
    return invoice_id


@app.task(name="billing.archive_invoice")
def archive_invoice(invoice_id):
    """Run by the archive service's workers (``-Q archive``), never by the billing workers."""
    return invoice_id
