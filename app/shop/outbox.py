"""The durable enqueue path: a transactional outbox and the relay that drains it.

The seed's ``.delay()`` raises ``kombu.exceptions.OperationalError`` when Redis is down and the task
is gone (nothing is buffered on the client). Here the order and its pending task are committed in
one transaction instead; the relay publishes pending rows once the broker accepts them and marks
them sent. A row is marked only after the broker accepted it, so a crash between the two publishes
the row again with the same task id: delivery is at least once, and a duplicate carries the id that
makes it recognisable.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from celery import current_app
from django.db import transaction
from django.utils import timezone
from kombu import Connection

from .models import OutboxMessage

logger = logging.getLogger(__name__)

#: Bounds for the relay's own broker connection. Under Celery's defaults a publish to a hung broker
#: blocks without limit (TCP connects still succeed); the relay must give up and try again later.
RELAY_TRANSPORT_OPTIONS = {"socket_timeout": 5, "socket_connect_timeout": 2, "max_retries": 0}


@dataclass
class RelayReport:
    """What one pass of the relay did."""

    sent: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def enqueue_durably(task_name: str, *args, **kwargs) -> OutboxMessage:
    """Save a pending task in the caller's transaction, and try to publish it after the commit.

    The publish after commit is a best effort: when the broker is down the row stays pending and the
    relay (``manage.py relay_outbox``) delivers it later.
    """
    message = OutboxMessage.objects.create(task_name=task_name, args=list(args), kwargs=kwargs)
    transaction.on_commit(lambda: relay_pending(only=[message.pk]))
    return message


def _relay_connection() -> Connection:
    app = current_app
    options = {**(app.conf.broker_transport_options or {}), **RELAY_TRANSPORT_OPTIONS}
    return Connection(app.conf.broker_url, transport_options=options, connect_timeout=2)


def relay_pending(limit: int = 100, only: list[int] | None = None) -> RelayReport:
    """Publish up to ``limit`` pending rows, oldest first; stop at the first refused publish."""
    report = RelayReport()
    pending = OutboxMessage.objects.filter(sent_at__isnull=True)
    if only is not None:
        pending = pending.filter(pk__in=only)
    rows = list(pending[:limit])
    if not rows:
        return report
    with _relay_connection() as connection:
        for row in rows:
            task_id = str(row.task_id)
            try:
                current_app.send_task(
                    row.task_name,
                    args=row.args,
                    kwargs=row.kwargs,
                    task_id=task_id,
                    connection=connection,
                    retry=False,
                )
            except Exception as exc:  # kombu.exceptions.OperationalError and socket errors
                OutboxMessage.objects.filter(pk=row.pk).update(
                    publish_attempts=row.publish_attempts + 1, last_error=repr(exc)[:2000]
                )
                report.failed[task_id] = repr(exc)
                logger.warning("outbox: publish of %s refused: %r", task_id, exc)
                break  # the broker is not accepting; keep order and try again next pass
            OutboxMessage.objects.filter(pk=row.pk).update(
                sent_at=timezone.now(), publish_attempts=row.publish_attempts + 1, last_error=""
            )
            report.sent.append(task_id)
    return report
