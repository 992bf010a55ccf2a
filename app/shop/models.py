"""An order, and the outbox that makes its background work durable."""

import uuid

from django.db import models


class Order(models.Model):
    """What a customer bought; the background tasks stamp what they did to it."""

    customer_email = models.EmailField()
    item = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    invoice_sent_at = models.DateTimeField(null=True, blank=True)
    warehouse_notified_at = models.DateTimeField(null=True, blank=True)
    label_printed_at = models.DateTimeField(null=True, blank=True)
    pickup_booked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Order {self.pk}: {self.quantity} x {self.item} for {self.customer_email}"


class OutboxMessage(models.Model):
    """A task to publish, saved in the same transaction as the change that asks for it.

    The relay publishes pending rows once the broker accepts them and then marks them sent. The
    task id is chosen when the row is written, so every publish of the row carries the same id.
    """

    task_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    task_name = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True, db_index=True)
    publish_attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        state = "sent" if self.sent_at else "pending"
        return f"{self.task_name}{tuple(self.args)} [{state}]"
