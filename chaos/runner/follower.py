"""The runner's view of the journal while a run goes on: which run events happened, and when.

The runner starts faults ``after: first_task_started`` and heals them ``until: all_tasks_done``;
it learns both from the journal the probe and the producer write, read incrementally (only new
complete lines) on every tick.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from chaos.journal import JOURNAL_FILE

FINISHED_KINDS = ("task.succeeded", "task.failed")


@dataclass
class RunProgress:
    """What the journal says so far; times are CLOCK_MONOTONIC seconds (shared by processes)."""

    event_times: dict[str, float] = field(default_factory=dict)
    accepted: set[str] = field(default_factory=set)
    refused: set[str] = field(default_factory=set)
    finished: set[str] = field(default_factory=set)
    attempts_started: int = 0
    attempts_finished: int = 0

    @property
    def in_flight(self) -> int:
        return self.attempts_started - self.attempts_finished

    def note(self, name: str, mono: float) -> None:
        self.event_times.setdefault(name, mono)


class JournalFollower:
    """Reads what was appended to a journal since the last call."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / JOURNAL_FILE
        self.offset = 0
        self.partial = b""
        self.progress = RunProgress()

    def poll(self) -> RunProgress:
        try:
            with open(self.path, "rb") as journal:
                journal.seek(self.offset)
                chunk = journal.read()
        except FileNotFoundError:
            return self.progress
        self.offset += len(chunk)
        lines = (self.partial + chunk).split(b"\n")
        self.partial = lines.pop()
        for line in lines:
            if line.strip():
                self._absorb(json.loads(line))
        return self.progress

    def _absorb(self, record: dict) -> None:
        kind, mono = record.get("kind"), float(record.get("mono", 0.0))
        task_id = record.get("task_id")
        progress = self.progress
        if kind == "enqueue.accepted":
            progress.note("first_enqueue_accepted", mono)
            progress.accepted.add(task_id)
        elif kind == "enqueue.refused":
            progress.refused.add(task_id)
        elif kind == "task.started":
            progress.note("first_task_started", mono)
            progress.attempts_started += 1
        elif kind == "task.finished":
            progress.attempts_finished += 1
        elif kind in FINISHED_KINDS and task_id is not None:
            if kind == "task.succeeded":
                progress.note("first_task_succeeded", mono)
            progress.finished.add(task_id)
        elif kind == "task.retried" and task_id is not None:
            progress.finished.discard(task_id)
