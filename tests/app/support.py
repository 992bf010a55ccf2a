"""Waiting and journal look-ups shared by the reference app's end-to-end tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pytest

from chaos.journal import Event, read_journal
from chaos.stack.base import Stack

T = TypeVar("T")


def wait_for(condition: Callable[[], T], timeout: float, what: str) -> T:
    """Poll ``condition`` until it is truthy; fail the test naming ``what`` on the deadline."""
    from chaos.stack._waiting import poll_until

    value = poll_until(condition, timeout)
    if not value:
        pytest.fail(f"timed out after {timeout} s waiting for {what}")
    return value


def journal_events(stack: Stack, kind: str, task_id: str | None = None) -> list[Event]:
    return [
        event
        for event in read_journal(stack.journal_path)
        if event.kind == kind and (task_id is None or event.task_id == task_id)
    ]
