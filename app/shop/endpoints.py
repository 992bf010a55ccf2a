"""The outside services the shop's tasks call: a carrier and a warehouse.

Plain HTTP POSTs with a timeout, so that a task really fails when the service is down or answers an
error, and Celery's retry machinery has something real to retry.
"""

import json
import urllib.request

from django.conf import settings


class EndpointError(ConnectionError):
    """The service answered an error or could not be reached."""


def post_json(url: str, payload: dict) -> dict:
    body = json.dumps(payload).encode()
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.ENDPOINT_TIMEOUT_SECONDS) as response:
            raw = response.read()
    except OSError as exc:  # URLError, HTTPError, timeouts and refused connections are all OSError
        raise EndpointError(f"POST {url} failed: {exc}") from exc
    return json.loads(raw or b"{}")


def book_pickup(order_id: int) -> dict:
    return post_json(settings.CARRIER_URL, {"order_id": order_id})


def notify_warehouse(order_id: int) -> dict:
    return post_json(settings.WAREHOUSE_URL, {"order_id": order_id})
