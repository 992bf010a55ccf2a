"""The payment gateway, simulated; ``BILLING_GATEWAY_FAILURES`` makes it refuse attempts."""

from django.conf import settings


class GatewayUnavailable(ConnectionError):
    pass


def charge(invoice, attempt: int) -> str:
    if attempt < settings.GATEWAY_FAILURES:
        raise GatewayUnavailable(f"gateway refused invoice {invoice.pk} (attempt {attempt})")
    return f"ch_{invoice.pk}_{attempt}"
