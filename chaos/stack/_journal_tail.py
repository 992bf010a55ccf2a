"""Reads a journal incrementally: the stack learns from it when a worker is ready."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

from chaos.journal import Event


class JournalTail:
    """Remembers how far it has read; each ``read_new`` returns only complete new lines."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._lock = threading.Lock()
        self.events: list[Event] = []

    def read_new(self) -> list[Event]:
        with self._lock:
            try:
                with self.path.open("rb") as handle:
                    handle.seek(self._offset)
                    chunk = handle.read()
            except FileNotFoundError:
                return []
            complete = chunk[: chunk.rfind(b"\n") + 1]
            self._offset += len(complete)
            fresh = [
                Event.from_dict(json.loads(line)) for line in complete.splitlines() if line.strip()
            ]
            self.events.extend(fresh)
            return fresh

    def find(self, predicate: Callable[[Event], bool]) -> Event | None:
        """The first event so far (reading what is new first) that matches."""
        self.read_new()
        return next((event for event in self.events if predicate(event)), None)
