"""A plain Celery app (no Django) with the special tasks the stack tests need.

Run by the stack as ``APP=plainapp`` with this directory as the worker's working directory.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from celery import Celery

app = Celery("plainapp")
app.conf.update(broker_connection_retry_on_startup=True, task_ignore_result=True)

_released = threading.Event()


@app.task
def add(x: int, y: int) -> int:
    return x + y


@app.task(acks_late=True)
def hold(release_file: str, limit: float = 20.0) -> str:
    """Runs until ``release_file`` exists (bounded by ``limit``): a task to kill mid-flight."""
    waited = 0.0
    while not Path(release_file).exists() and waited < limit:
        _released.wait(0.05)  # never set: a bounded poll for the release file
        waited += 0.05
    return f"released after {waited:.2f}s in pid {os.getpid()}"


class CarrierDown(ConnectionError):
    """What the fake carrier raises: it is always down."""


@app.task(bind=True, max_retries=3)
def risky(self, order_id: int) -> int:
    """The seed's risky_task shape with a short countdown so that a test takes a second."""
    try:
        raise CarrierDown(f"carrier refused pickup for order {order_id}")
    except Exception as e:
        raise self.retry(exc=e, countdown=0.2)
