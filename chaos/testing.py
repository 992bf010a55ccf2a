"""Synthetic histories for testing checks: events written as the producer, the probe and the
runner would write them, at chosen times, without a stack. The suite's own checks are tested on
runs built here with anomalies planted in them; use it to test checks of your own.

Times are seconds since the run started. Each writer has its own pid, sequence and, if asked, a
wall clock skewed from the runner's (its monotonic clock is the shared one, as on one host).
``SyntheticRun.events`` feeds ``chaos.history.build_history``; ``SyntheticRun.write(run_dir)``
writes a journal for ``load_history`` or ``chaos check RUN_DIR``.

A check of your own, and the history that should fail it::

    from chaos.checks import register, run_checks
    from chaos.checks.verdict import Finding, verdict_from_findings
    from chaos.history import RunHistory, build_history
    from chaos.testing import SyntheticRun

    @register("attempts_under")
    def check_attempts_under(history: RunHistory, seconds: float = 1.0):
        findings = [
            Finding(f"{task.label}: {attempt.label()} ran {attempt.runtime:.2f} s", task.task_id)
            for task in history.tasks.values()
            for attempt in task.executions
            if attempt.runtime is not None and attempt.runtime > seconds
        ]
        return verdict_from_findings(
            "attempts_under",
            findings,
            expected=f"every attempt under {seconds:.2f} s",
            observed=f"{len(findings)} slower",
            held="every attempt was quick",
        )

    run = SyntheticRun()
    run.fault("kill-1", "broker.kill", start=10.0, end=13.0)  # a broker outage, 10 to 13 s
    run.publish(1.0, "t1", "order=1")  # accepted by the broker at 1.00 s
    run.execute(1.1, "t1", duration=2.5)  # received at 1.10 s, ran 2.5 s, succeeded
    run.publish(11.0, "t2", "order=2", outcome="refused")  # refused during the outage
    run.finish(20.0)

    (verdict,) = run_checks(build_history(run.events), [{"check": "attempts_under"}])
    assert not verdict.ok
    assert verdict.message == "send_invoice_email[order=1]: attempt 0 ran 2.50 s"
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from chaos.journal import JOURNAL_FILE, Event

START_WALL = 1_790_000_000.0
START_MONO = 5_000.0
TASK = "shop.tasks.send_invoice_email"
RETRYING_POLICY: Mapping[str, Any] = {
    "bind": True,
    "max_retries": 3,
    "default_retry_delay": 180,
    "autoretry_for": [],
    "retry_backoff": False,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "acks_late": False,
    "reject_on_worker_lost": False,
}


@dataclass
class SyntheticWriter:
    """One writer process; ``emit`` appends an event at a run-relative time."""

    run: SyntheticRun
    name: str
    pid: int
    skew: float = 0.0
    seq: int = 0

    def emit(
        self, at: float, kind: str, task_id: str | None = None, task: str | None = None, **data: Any
    ) -> Event:
        event = Event(
            kind=kind,
            wall=START_WALL + at + self.skew,
            mono=START_MONO + at,
            writer=self.name,
            pid=self.pid,
            seq=self.seq,
            task_id=task_id,
            task=task,
            data=data,
        )
        self.seq += 1
        self.run.events.append(event)
        return event


@dataclass
class SyntheticRun:
    """A runner, a producer and workers writing one journal."""

    events: list[Event] = field(default_factory=list)
    writers: dict[tuple[str, int], SyntheticWriter] = field(default_factory=dict)
    persistence: str = "none"
    dilation: float = 1.0
    """The app's clock ran this many times faster than real time (times given are the app's)."""

    def __post_init__(self) -> None:
        self.runner = self.writer("runner@host", 10)
        self.producer = self.writer("producer@host", 20)
        clock = {"clock": {"dilation": self.dilation, "real_start": START_WALL}}
        self.runner.emit(
            0.0,
            "run.started",
            run_id="synthetic",
            scenario="synthetic",
            seed=0,
            backend="local",
            persistence=self.persistence,
            **(clock if self.dilation != 1.0 else {}),
        )

    def writer(self, name: str, pid: int, skew: float = 0.0) -> SyntheticWriter:
        key = (name, pid)
        if key not in self.writers:
            self.writers[key] = SyntheticWriter(self, name, pid, skew)
        return self.writers[key]

    def worker(self, number: int = 1, skew: float = 0.0) -> tuple[SyntheticWriter, SyntheticWriter]:
        """The worker's main process and its pool child (the probe writes from both)."""
        name = f"worker-{number}@host"
        return (self.writer(name, 100 * number, skew), self.writer(name, 100 * number + 1, skew))

    def fault(
        self,
        fault_id: str,
        type: str,
        start: float,
        end: float | None,
        target: str | None = None,
        **params: Any,
    ) -> None:
        """A fault window as the runner journals it (``broker.kill`` on ``broker``)."""
        target = target or type.split(".", 1)[0]
        self.runner.emit(
            start, "fault.applied", fault_id=fault_id, type=type, target=target, params=params
        )
        if end is not None:
            self.runner.emit(
                end, "fault.healed", fault_id=fault_id, type=type, target=target, how="removed"
            )

    def publish(
        self,
        at: float,
        task_id: str,
        key: str,
        outcome: str = "accepted",
        path: str = "naive",
        task: str = TASK,
        seconds: float = 0.002,
        exc_type: str = "kombu.exceptions.OperationalError",
        **asked: Any,
    ) -> None:
        """The producer's tried event and its answer (``accepted``, ``refused``, ``uncertain``,
        or ``none`` for a publish that never returned); ``asked``: the options the caller gave
        (``queue=``, ``countdown=``)."""
        self.producer.emit(at, "enqueue.tried", task_id, task, path=path, key=key, **asked)
        done = at + seconds
        if outcome == "accepted":
            self.producer.emit(
                done, "enqueue.accepted", task_id, task, path=path, key=key, seconds=seconds
            )
        elif outcome in ("refused", "uncertain"):
            self.producer.emit(
                done,
                "enqueue.refused",
                task_id,
                task,
                path=path,
                key=key,
                exc_type=exc_type,
                exc_message="Error 111 connecting",
                seconds=seconds,
                uncertain=outcome == "uncertain",
            )

    def execute(
        self,
        at: float,
        task_id: str,
        attempt: int = 0,
        outcome: str = "success",
        duration: float = 0.05,
        worker: int = 1,
        task: str = TASK,
        policy: Mapping[str, Any] | None = None,
        exc_type: str | None = None,
        countdown: float | None = None,
        redelivered: bool = False,
        eta: float | None = None,
        received: bool = True,
        routing_key: str | None = None,
        held: float = 0.0,
    ) -> None:
        """One attempt: received by the main process, started (``held`` seconds later than the
        pool's usual 5 ms), and ended as ``outcome`` (``success``, ``retry``, ``failure``, or
        ``none`` for an attempt that never ended)."""
        parent, child = self.worker(worker)
        host = f"worker-{worker}"
        eta_wall = None if eta is None else START_WALL + eta
        if received:
            parent.emit(
                at,
                "task.received",
                task_id,
                task,
                attempt=attempt,
                eta=eta_wall,
                redelivered=redelivered,
                hostname=host,
                routing_key=routing_key,
            )
        at += held
        child.emit(
            at + 0.005,
            "task.started",
            task_id,
            task,
            attempt=attempt,
            eta=eta_wall,
            redelivered=redelivered,
            hostname=host,
            args_digest="d",
            policy=dict(policy if policy is not None else RETRYING_POLICY),
            routing_key=routing_key,
        )
        end = at + 0.005 + duration
        if outcome == "success":
            child.emit(end, "task.succeeded", task_id, task, attempt=attempt, runtime=duration)
            child.emit(end, "task.finished", task_id, task, attempt=attempt, state="SUCCESS")
        elif outcome == "retry":
            retry_eta = None if countdown is None else START_WALL + end + countdown
            child.emit(
                end,
                "task.retried",
                task_id,
                task,
                attempt=attempt,
                countdown=countdown,
                retry_eta=retry_eta,
                exc_type=exc_type or "builtins.ValueError",
                exc_message="boom",
            )
            child.emit(end, "task.finished", task_id, task, attempt=attempt, state="RETRY")
        elif outcome == "failure":
            child.emit(
                end,
                "task.failed",
                task_id,
                task,
                attempt=attempt,
                exc_type=exc_type or "builtins.ValueError",
                exc_message="boom",
            )
            child.emit(end, "task.finished", task_id, task, attempt=attempt, state="FAILURE")

    def worker_ready(
        self,
        at: float,
        worker: int = 1,
        concurrency: int = 1,
        queues: tuple[str, ...] = ("celery",),
        pool: str = "prefork",
        visibility_timeout: float = 3600.0,
        **settings: Any,
    ) -> None:
        """The probe's ``worker.ready``: pool, slots and the queues its consumer reads, plus any
        setting it reports (``prefetch_multiplier=1``, ``disable_prefetch=True``)."""
        parent, _ = self.worker(worker)
        parent.emit(at, "worker.ready", hostname=f"worker-{worker}", pool=pool,
                    concurrency=concurrency, visibility_timeout=visibility_timeout,
                    queues=[{"name": q, "routing_key": q} for q in queues],
                    **settings)  # fmt: skip

    def connection(self, at: float, event: str, worker: int = 1) -> None:
        """The probe's ``worker.connection_lost`` or ``worker.connection_restored``."""
        parent, _ = self.worker(worker)
        parent.emit(at, f"worker.connection_{event}", hostname=f"worker-{worker}")

    def retried_task(
        self,
        at: float,
        task_id: str,
        key: str,
        attempts: int,
        countdown: float,
        final: str = "failure",
        policy: Mapping[str, Any] | None = None,
        exc_type: str = "builtins.ValueError",
        final_exc: str | None = None,
        gaps: list[float] | None = None,
    ) -> float:
        """A task published at ``at`` that retries ``attempts - 1`` times with ``countdown``,
        then ends as ``final``; returns when it ended. ``gaps`` overrides the real waits."""
        self.publish(at, task_id, key)
        start = at + 0.01
        for n in range(attempts):
            last = n == attempts - 1
            outcome = final if last else "retry"
            self.execute(
                start,
                task_id,
                attempt=n,
                outcome=outcome,
                policy=policy,
                exc_type=(final_exc or exc_type) if last else exc_type,
                countdown=None if last else countdown,
            )
            gap = gaps[n] if gaps is not None and n < len(gaps) else countdown
            start = start + 0.055 + gap
        return start

    def finish(self, at: float) -> None:
        self.runner.emit(at, "run.finished", outcome="done")

    def write(self, run_dir: Path, shuffle_seed: int | None = None, partial_tail: str = "") -> Path:
        """Write the journal (lines shuffled when asked, as concurrent writers would leave them).

        Each writer's ``seq`` is renumbered 0, 1, 2 ... over the events as they now stand, as
        the writers would have stamped them: a test that drops events plants no journal gap."""
        seqs: dict[tuple[str, int], int] = {}
        lines = []
        for event in self.events:
            seq = seqs[event.writer, event.pid] = seqs.get((event.writer, event.pid), -1) + 1
            lines.append(replace(event, seq=seq).to_json() + "\n")
        if shuffle_seed is not None:
            random.Random(shuffle_seed).shuffle(lines)
        path = Path(run_dir) / JOURNAL_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(lines) + partial_tail)
        return path


def bulk_run(task_count: int, seed: int = 0) -> SyntheticRun:
    """A large, realistic mix for the benchmark: a broker kill, retries, refusals, a few
    duplicates, spread over several workers (about 8 events a task)."""
    rng = random.Random(seed)
    run = SyntheticRun()
    span = max(60.0, task_count / 100)
    run.fault("f1", "broker.kill", span * 0.3, span * 0.3 + 3.0)
    for index in range(task_count):
        at = rng.uniform(0.0, span)
        task_id = f"t{index}"
        key = f"order={index}"
        worker = 1 + index % 4
        if span * 0.3 - 2.0 <= at <= span * 0.3 + 3.0:
            # Around the kill: refused (a task published just before would be received inside).
            run.publish(at, task_id, key, outcome="refused")
            continue
        run.publish(at, task_id, key)
        if index % 10 == 0:
            run.execute(at + 0.02, task_id, 0, "retry", countdown=1.0, worker=worker)
            run.execute(at + 1.1, task_id, 1, "success", worker=worker)
        elif index % 97 == 0:
            run.execute(at + 0.02, task_id, 0, "success", worker=worker)
            run.execute(at + 0.5, task_id, 0, "success", worker=1 + (worker % 4), redelivered=True)
        else:
            run.execute(at + 0.02, task_id, 0, "success", worker=worker)
    run.finish(span + 5.0)
    return run
