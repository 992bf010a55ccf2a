"""One test's slice of a session stack's journal.

The session stack keeps one journal for every test it serves; a test judges only what happened
while it ran, so the view remembers the journal's size when the test started and reads from there.
Writers append whole lines with one ``O_APPEND`` write each, so the size is always a line boundary.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from chaos.journal import Event, JournalWriter

if TYPE_CHECKING:
    from chaos.history import RunHistory


class JournalView:
    """The events a stack's journal received since ``start_offset`` (bytes)."""

    def __init__(self, path: Path | str, start_offset: int | None = None) -> None:
        self.path = Path(path)
        self.start_offset = self._size() if start_offset is None else start_offset
        self._writer: JournalWriter | None = None
        self._fault_numbers = itertools.count(1)

    def _size(self) -> int:
        try:
            return os.path.getsize(self.path)
        except FileNotFoundError:
            return 0

    def events(self) -> Iterator[Event]:
        """Complete lines written since the view began, in file order."""
        with self.path.open("rb") as handle:
            handle.seek(self.start_offset)
            for raw in handle:
                if not raw.endswith(b"\n"):
                    return  # a writer is mid-line; the next read will have it
                if raw.strip():
                    yield Event.from_dict(json.loads(raw))

    def kinds(self) -> list[str]:
        return [event.kind for event in self.events()]

    def history(self) -> RunHistory:
        """The test's events as a RunHistory (what the checks and assertion helpers judge)."""
        # Imported here: the plugin loads in every session, the history (and its fault models,
        # pydantic) only when a test reads one.
        from chaos.history import build_history

        history = build_history(self.events())
        history.source = self.path
        return history

    @property
    def writer(self) -> JournalWriter:
        """A writer for the test's own events (a fault it applied, a phase it entered)."""
        if self._writer is None:
            self._writer = JournalWriter(self.path, f"test@{socket.gethostname()}")
        return self._writer

    def write(self, kind: str, **fields: object) -> Event:
        return self.writer.write(kind, **fields)  # type: ignore[arg-type]

    @contextmanager
    def fault(self, type: str, target: str | None = None, **params: object) -> Iterator[str]:
        """Journal a fault the test applies by hand (``fault.applied`` on entry, ``fault.healed``
        on exit), so the checks see its window: ``with journal.fault("broker.kill"): ...``."""
        fault_id = f"test-{next(self._fault_numbers)}"
        target = target or type.split(".", 1)[0]
        self.write("fault.applied", fault_id=fault_id, type=type, target=target, params=params)
        try:
            yield fault_id
        finally:
            self.write("fault.healed", fault_id=fault_id, type=type, target=target, how="with")

    def wait_for(self, matches: Callable[[Event], bool], timeout: float = 30.0) -> Event:
        """The first event since the view began that ``matches``, waiting up to ``timeout`` s;
        AssertionError naming what was seen if it never comes."""
        from chaos.stack._waiting import poll_until

        def found() -> Event | None:
            return next((event for event in self.events() if matches(event)), None)

        event = poll_until(found, timeout, max_interval=0.1)
        if event is None:
            seen = ", ".join(sorted(set(self.kinds()))) or "nothing"
            raise AssertionError(f"no matching journal event within {timeout:.0f} s "
                                 f"(the journal has: {seen})")  # fmt: skip
        return event

    def wait_for_task(self, task_id: str, kind: str = "task.succeeded",
                      timeout: float = 30.0) -> Event:
        """Wait until the task's ``kind`` event (its success, by default) is journaled."""
        return self.wait_for(lambda e: e.kind == kind and e.task_id == task_id, timeout)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __repr__(self) -> str:
        return f"JournalView({str(self.path)!r}, start_offset={self.start_offset})"
