"""Orders and the outbox in the admin; task results come with django_celery_results."""

from django.contrib import admin

from .models import Order, OutboxMessage


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "customer_email",
        "item",
        "quantity",
        "created_at",
        "invoice_sent_at",
        "pickup_booked_at",
    )
    search_fields = ("customer_email", "item")


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ("task_id", "task_name", "args", "created_at", "sent_at", "publish_attempts")
    list_filter = ("task_name",)
    readonly_fields = ("task_id",)
