"""The run's journal: append-only JSON lines that live outside the fault domain.

Every writer (the runner, the producer, each worker's probe, a failpoint) appends one event per
line to ``RUN_DIR/journal.jsonl`` with a single ``os.write`` on an ``O_APPEND`` descriptor, so
lines from concurrent processes never interleave (Linux appends a write of one buffer atomically
on a local file system). The journal never lives in the Redis under test: what it records must
survive the faults it records. A process in a container of the docker backend, which shares no
file system with the runner, sends each line to the runner's run service instead
(``chaos.run_channel``), which appends it the same way before it answers.

Event kinds and the fields of ``data`` they carry (all optional unless said):

producer
  ``enqueue.tried``     path ("naive" | "durable"), key (workload key such as "order=17"), args_digest
  ``enqueue.accepted``  path, key, seconds (time the publish took)
  ``enqueue.refused``   path, key, exc_type, exc_message, seconds, uncertain (bool: the publish
                        may have reached the broker, e.g. a timeout after sending)
  ``outbox.saved``      key (durable path: order and pending task committed in one transaction)
  ``outbox.relayed``    key (the relay's publish was accepted and the row marked sent)
probe (worker side; ``task_id`` and ``task`` set on every task.* event)
  ``task.received``     attempt, eta (wall seconds or None), redelivered, hostname
  ``task.started``      attempt, eta, redelivered, hostname, args_digest, policy (see below)
  ``task.retried``      attempt, countdown (seconds or None), retry_eta (wall or None),
                        exc_type, exc_message
  ``task.succeeded``    attempt, runtime
  ``task.failed``       attempt (None when the main process reports a lost pool process),
                        exc_type, exc_message
  ``task.revoked``      attempt, terminated, signum, expired
  ``task.rejected``     attempt, requeue, exc_type, exc_message
  ``task.unknown``      (a message for a task name the worker does not know)
  ``task.finished``     attempt, state (Celery's state after the attempt)
  ``worker.ready``      hostname, pool, concurrency, boot (start-up timings by phase)
  ``worker.connection_lost`` / ``worker.connection_restored``  hostname, detail
  ``worker.shutdown``   hostname, phase, signal, how
  ``worker.crashed``    hostname, error (Celery's "Unrecoverable error": the worker stops)
  ``worker.escalated``  hostname, pid, grace, signal (a warm shutdown that had to be SIGKILLed)
test (the pytest plugin's ``chaos_journal``)
  ``test.started``      test (the node id): a test's slice of a session journal counts from it
runner
  ``run.started``       run_id, scenario, seed, backend, topology, expected_tasks
  ``phase``             name ("start", "workload", "faults", "heal", "drain", "check")
  ``fault.applied``     fault_id, type, target, params (broker faults add persistence)
  ``fault.healed``      fault_id, type, target, how ("removed", "restarted", "escalated", ...)
  ``run.drain_deadline`` what was left when the drain ran out of time
  ``run.plan``          what the run means to do, before the workload starts (``chaos.runner.plan``):
                        messages per stream and path, faults and failpoints with their ids
  ``run.finished``      after the drain and before the checks: outcome ("drained",
                        "drain_deadline", "stack_error" for an infrastructure failure),
                        timed_out, never_applied
  ``run.judged``        after the checks: outcome ("held" | "failed")
failpoint
  ``failpoint.fired``   name, action ("raise" | "delay"), hit (1-based), exc_type, delay, arming

``policy`` is the task's declared retry policy as the code declares it: bind, max_retries,
default_retry_delay, autoretry_for (qualified names), retry_backoff, retry_backoff_max,
retry_jitter, acks_late, reject_on_worker_lost.

Every writer stamps ``seq`` (0, 1, 2 ... per writer and process) on each event, so that a reader
can tell an event lost in between (``chaos.history.completeness``); journals written before it
load with ``seq`` -1 (not stamped).

Exception types are written as qualified names (``builtins.ValueError``,
``kombu.exceptions.OperationalError``). The producer assigns task ids itself before publishing,
so a refused publish and a later delivery of the same task share one ``task_id``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import socket
import threading
import time
import weakref
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos import run_channel

JOURNAL_FILE = "journal.jsonl"
SCHEMA_VERSION = 1
#: ``seq`` of an event from a journal written before writers stamped one.
UNSTAMPED = -1

#: Environment variables through which a stack hands the run to its child processes.
ENV_RUN_DIR = "CHAOS_RUN_DIR"
ENV_RUN_ID = "CHAOS_RUN_ID"


@dataclass(frozen=True, slots=True)
class Event:
    """One line of the journal."""

    kind: str
    wall: float
    mono: float
    writer: str
    pid: int
    seq: int
    task_id: str | None = None
    task: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        record: dict[str, Any] = {
            "kind": self.kind,
            "wall": self.wall,
            "mono": self.mono,
            "writer": self.writer,
            "pid": self.pid,
            "seq": self.seq,
        }
        if self.task_id is not None:
            record["task_id"] = self.task_id
        if self.task is not None:
            record["task"] = self.task
        if self.data:
            record["data"] = dict(self.data)
        return json.dumps(record, separators=(",", ":"), default=str)

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> Event:
        return cls(
            kind=record["kind"],
            wall=float(record["wall"]),
            mono=float(record["mono"]),
            writer=record["writer"],
            pid=int(record["pid"]),
            seq=int(record.get("seq", UNSTAMPED)),
            task_id=record.get("task_id"),
            task=record.get("task"),
            data=record.get("data") or {},
        )


def qualified_name(exc_or_type: BaseException | type) -> str:
    """``builtins.ValueError`` for a ValueError: the form every event uses for exception types."""
    cls = exc_or_type if isinstance(exc_or_type, type) else type(exc_or_type)
    return f"{cls.__module__}.{cls.__qualname__}"


def args_digest(args: Sequence[Any] | None, kwargs: Mapping[str, Any] | None) -> str:
    """A short stable digest of a call's arguments, equal on the producer's and worker's side
    (both journal it: ``enqueue.tried`` and ``task.started`` carry ``args_digest``)."""
    canonical = json.dumps(
        [list(args or ()), dict(kwargs or {})], sort_keys=True, default=repr, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


class JournalWriter:
    """Appends events for one writer identity; safe across threads and processes."""

    def __init__(self, path: Path | str, writer: str, clock: Any = None) -> None:
        self.path = Path(path)
        self.writer = writer
        # A writer outside the app's processes (the runner) under a dilated clock passes the
        # run's chaos.clock.AppClock: its events then carry the app's time, as the probe's do.
        self._wall = clock.wall if clock is not None else time.time
        self._mono = clock.mono if clock is not None else time.monotonic
        self.pid = os.getpid()
        self._seq = itertools.count()
        self._lock = threading.Lock()
        self._broken: Exception | None = None
        # In a container of a run whose files live with the runner: events go over its socket.
        self._channel = run_channel.channel() if _served_by_run_service(self.path) else None
        self._fd = -1
        if self._channel is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        # A fork while another thread holds the lock would leave the child's copy held forever.
        reference = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _renew_lock(reference))

    @classmethod
    def for_run_dir(cls, run_dir: Path | str, writer: str, clock: Any = None) -> JournalWriter:
        return cls(Path(run_dir) / JOURNAL_FILE, writer, clock)

    def write(
        self,
        kind: str,
        *,
        task_id: str | None = None,
        task: str | None = None,
        **data: Any,
    ) -> Event:
        with self._lock:
            if os.getpid() != self.pid:
                # A forked child (prefork pool) keeps the descriptor but is a different writer.
                self.pid = os.getpid()
                self._seq = itertools.count()
            event = Event(
                kind=kind,
                wall=self._wall(),
                mono=self._mono(),
                writer=self.writer,
                pid=self.pid,
                seq=next(self._seq),
                task_id=task_id,
                task=task,
                data=data,
            )
            self._append((event.to_json() + "\n").encode())
        return event

    def _append(self, line: bytes) -> None:
        """One ``os.write`` of the whole line, or a StackError naming the journal.

        A short write is not completed with a second call: on an ``O_APPEND`` file another
        process's line may land between the two halves. On a local file system a write is short
        only when the disk (or quota, or file size limit) runs out, where the next call fails too,
        so a short write fails loudly like an error: a journal that lost an event cannot back a
        verdict. After a failure every later write of this writer fails the same way.
        """
        if self._broken is not None:
            raise self._broken
        if self._channel is not None:
            self._send(line)
            return
        try:
            written = os.write(self._fd, line)
        except OSError as exc:
            reason = f"cannot append to {self.path}: {exc.strerror or exc}"
        else:
            if written == len(line):
                return
            reason = (f"cannot append to {self.path}: only {written} of {len(line)} bytes of an "
                      "event were written (is the disk full?)")  # fmt: skip
        from chaos.errors import StackError

        _leave_failure_mark(self.path, reason)
        self._broken = StackError("journal", reason,
                                  hint="free space where the run directory lives (--out)")  # fmt: skip
        raise self._broken

    def _send(self, line: bytes) -> None:
        """The line to the run service, which answers once it is in the runner's journal."""
        assert self._channel is not None
        try:
            answer = self._channel.ask(run_channel.JOURNAL, line.decode().rstrip("\n"))
        except OSError as exc:
            answer = f"cannot reach the run service at {self._channel.address}: {exc}"
        if answer == "ok":
            return
        from chaos.errors import StackError

        self._broken = StackError("journal", f"an event did not reach the journal: {answer}")
        raise self._broken

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


#: Beside the journal, one empty-or-not file per process whose append failed (``FAILED_MARK``
#: then the pid). An empty file needs no data block, so it can be made on a disk too full for a
#: line: the runner looks for these before it judges (an event lost in a worker must not become
#: a verdict), since its own later, shorter lines may still fit in the file's last block.
FAILED_MARK = ".failed."


def _leave_failure_mark(path: Path, reason: str) -> None:
    try:
        fd = os.open(f"{path}{FAILED_MARK}{os.getpid()}", os.O_WRONLY | os.O_CREAT, 0o644)
    except OSError:
        return
    try:
        os.write(fd, reason.encode())
    except OSError:
        pass  # the mark's existence is what counts; the reason is a courtesy
    finally:
        os.close(fd)


def journal_write_failures(path: Path | str) -> list[str]:
    """What every writer whose append to the journal at ``path`` failed said (its reason, or its
    pid when the disk had no room even for that)."""
    path = Path(path)
    failures = []
    for mark in sorted(path.parent.glob(f"{path.name}{FAILED_MARK}*")):
        try:
            reason = mark.read_text(errors="replace").strip()
        except OSError:
            reason = ""
        pid = mark.name.rsplit(".", 1)[-1]
        failures.append(f"pid {pid}: {reason or 'an append failed'}")
    return failures


def _served_by_run_service(path: Path) -> bool:
    """True for this run's journal in a process told to reach it through the run service."""
    run_dir = os.environ.get(ENV_RUN_DIR)
    return bool(run_dir and os.environ.get(run_channel.ENV_RUN_SERVICE)
                and path.parent == Path(run_dir))  # fmt: skip


def _renew_lock(reference: weakref.ref[JournalWriter]) -> None:
    writer = reference()
    if writer is not None:
        writer._lock = threading.Lock()


def default_writer_name(role: str) -> str:
    return f"{role}@{socket.gethostname()}"


def read_journal(path: Path | str, *, cut_lines: list[int] | None = None) -> Iterator[Event]:
    """Yield the events of a journal file in file order.

    A last line without its newline is a writer that crashed mid-write: it is skipped, not an
    error. A malformed line elsewhere is an error naming the file and line, unless ``cut_lines``
    is given and the line is an event cut short by a short write with the next writer's whole
    event appended after it (a disk that filled up): then the whole event is kept, the cut one is
    lost, and the line's number goes into ``cut_lines`` (the journal is incomplete).
    """
    from chaos.errors import ConfigError, Problem

    path = Path(path)
    if path.is_dir():
        path = path / JOURNAL_FILE
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.endswith(b"\n"):
                return
            if not raw.strip():
                continue
            try:
                yield Event.from_dict(json.loads(raw))
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                rest = _after_a_cut(raw) if cut_lines is not None else None
                if rest is None:
                    raise ConfigError(
                        [Problem(f"not a journal event: {exc}", file=path, line=number)]
                    ) from exc
                cut_lines.append(number)  # type: ignore[union-attr]
                yield rest


_EVENT_START = b'{"kind":'


def _after_a_cut(raw: bytes) -> Event | None:
    """The whole event a line ends with, when the line starts with an event cut short."""
    if not raw.startswith(_EVENT_START):
        return None
    start = raw.rfind(_EVENT_START)
    if start <= 0:
        return None
    try:
        json.loads(raw[:start].rstrip(b", \t"))
    except ValueError:
        pass  # the first event is cut: what a short write leaves
    else:
        return None  # two whole events on one line: not a cut, a broken writer
    try:
        return Event.from_dict(json.loads(raw[start:]))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
