"""Waiting for a condition with a deadline: the only way the stack waits for anything."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

_never_set = threading.Event()


def poll_until(
    condition: Callable[[], T | None],
    timeout: float,
    *,
    interval: float = 0.02,
    max_interval: float = 0.2,
) -> T | None:
    """Call ``condition`` until it returns something truthy or ``timeout`` passes.

    Returns the truthy value, or None on the deadline. The pause between calls grows from
    ``interval`` to ``max_interval`` so that a slow condition costs little CPU on a loaded machine.
    """
    deadline = time.monotonic() + timeout
    pause = interval
    while True:
        value = condition()
        if value:
            return value
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        _never_set.wait(min(pause, remaining))
        pause = min(pause * 1.5, max_interval)
