"""The journal writer under concurrent processes, and across a fork (the prefork pool's case)."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

from chaos.journal import JournalWriter, read_journal

WRITERS = 4
EVENTS = 300


def _append(path: str, name: str) -> None:
    with JournalWriter(path, name) as writer:
        for number in range(EVENTS):
            writer.write("task.started", task_id=f"{name}-{number}", filler="x" * 300)


def test_concurrent_writers_never_tear_or_reorder_a_line(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    processes = [
        multiprocessing.get_context("fork").Process(target=_append, args=(str(path), f"w{n}"))
        for n in range(WRITERS)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    events = list(read_journal(path))
    assert len(events) == WRITERS * EVENTS
    for n in range(WRITERS):
        assert [e.seq for e in events if e.writer == f"w{n}"] == list(range(EVENTS))


def test_a_child_forked_while_the_lock_is_held_can_still_write(tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path / "journal.jsonl", "parent")
    with writer._lock:
        child = os.fork()
        if child == 0:  # pragma: no cover - runs in the child
            writer.write("worker.ready")
            os._exit(0)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    [event] = read_journal(writer.path)
    assert event.pid == child and event.seq == 0
