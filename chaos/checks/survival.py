"""Invariant ``workers``: a worker stops only when a fault stops it, and reconnects after a heal.

Three ways a broker fault can take a worker out that no task-level check names as such:

- it **exits on its own**: Celery logs "Unrecoverable error" and stops (kombu raising out of a
  channel close during a reconnect, an OutOfMemoryError on an ack...). The probe journals
  ``worker.crashed`` for that line, and ``worker.shutdown`` for any stop; a stop before the run's
  end with no fault that stops workers around it is a finding. Without this, the tasks published
  afterwards read as "never received by any worker", and liveness (which counts only connected
  workers' free slots) sees nothing to wait for.
- it **never comes back**: its last connection event is a loss, and the run ended more than
  ``RECONNECT_SECONDS`` after the last heal without a ``connection_restored`` or a new ready;
- it **is back but deaf**: connected, yet it answers none of the runner's remote-control pings
  after the drain (``chaos.checks.control``).

Explained stops: a window of a fault whose effects include ``WORKERS_DISRUPTED`` (kill, terminate,
restart, scale) within ``MARGIN_SECONDS`` of the stop. A crash only by a window that had begun
when it came: no signal makes a worker log "Unrecoverable error" before it is sent, and the
margin before a window's start is for a stop the runner journals after waiting for it
(``worker.terminate`` waits for the exit). Without that, a crash followed within the margin by a
supervisor's restart would read as the restart's doing (20 app s of margin at x10).
"""

from __future__ import annotations

from chaos.checks.allowance import dilated_note, machine_allowance
from chaos.checks.capacity import last_heal
from chaos.checks.control import asked_count, unanswered
from chaos.checks.faults import effects
from chaos.checks.registry import register_invariant
from chaos.checks.verdict import Finding, Verdict, verdict_from_findings
from chaos.faults import Effect
from chaos.history.model import FaultWindow, RunHistory, WorkerEvent, format_seconds

#: Celery's reconnect backoff grows 2 s per attempt (2, 4, 6 ... s), so after an outage of a
#: minute the next attempt comes at most ~16 s after the heal (the worker's own timer: app s).
RECONNECT_BACKOFF_SECONDS = 16.0
#: Room for a slow start on top of it (the machine's: real s, chaos.checks.allowance).
RECONNECT_ROOM_SECONDS = 4.0
RECONNECT_SECONDS = RECONNECT_BACKOFF_SECONDS + RECONNECT_ROOM_SECONDS
#: A stop this close to a worker fault's window is that fault's doing (a warm shutdown's
#: ``worker_shutdown`` lands after the window's start; a restart's old process after its end):
#: the machine's latency, real s.
MARGIN_SECONDS = 2.0


def _short(hostname: str | None) -> str:
    return (hostname or "?").split("@", 1)[0]


def _disrupting(history: RunHistory) -> list[FaultWindow]:
    return [w for w in history.fault_windows if Effect.WORKERS_DISRUPTED in effects(w)]


def _explained(history: RunHistory, at: float, crashed: bool) -> bool:
    margin = machine_allowance(history, MARGIN_SECONDS)
    if crashed:
        return any(w.start <= at and w.overlaps(at - margin, at) for w in _disrupting(history))
    return any(w.overlaps(at - margin, at + margin) for w in _disrupting(history))


def _run_end(history: RunHistory) -> float:
    return history.meta.finished_at if history.meta.finished_at is not None else history.end_at


def _exits(history: RunHistory, end: float) -> list[Finding]:
    """One finding per worker life that ended by itself before the run's end."""
    crashes = {e.pid: e for e in history.worker_events if e.kind == "worker.crashed"}
    findings = []
    seen: set[int] = set()
    for event in sorted(history.worker_events, key=lambda e: e.at):
        if event.kind not in ("worker.crashed", "worker.shutdown") or event.pid in seen:
            continue
        if event.at >= end or _explained(history, event.at, event.kind == "worker.crashed"):
            continue
        seen.add(event.pid)
        crash = crashes.get(event.pid)
        why = (f": {crash.detail.get('error')}" if crash is not None and crash.detail.get("error")
               else "")  # fmt: skip
        verb = "crashed" if crash is not None else "stopped"
        windows = tuple(history.windows_around(event.at - 5.0, event.at))
        around = "; around it: " + ", ".join(w.describe() for w in windows) if windows else ""
        findings.append(Finding(
            f"{_short(event.hostname)} (pid {event.pid}) {verb} at {format_seconds(event.at)}"
            f"{why}, with no fault that stops workers{around}",
            None, windows,
        ))  # fmt: skip
    return findings


def _last_by_host(history: RunHistory) -> dict[str, WorkerEvent]:
    last: dict[str, WorkerEvent] = {}
    for event in sorted(history.worker_events, key=lambda e: e.at):
        if event.hostname:
            last[event.hostname] = event
    return last


def reconnect_bound(history: RunHistory) -> float:
    """App seconds a worker may take to reconnect after the last heal: Celery's backoff as it is,
    the room for a slow start scaled by the dilated clock."""
    return RECONNECT_BACKOFF_SECONDS + machine_allowance(history, RECONNECT_ROOM_SECONDS)


def _bound_text(history: RunHistory) -> str:
    if not dilated_note(history):
        return f"{reconnect_bound(history):g} s"
    return (f"{reconnect_bound(history):g} s (Celery's {RECONNECT_BACKOFF_SECONDS:g} s + "
            f"{RECONNECT_ROOM_SECONDS:g} s{dilated_note(history)})")  # fmt: skip


def _not_back(history: RunHistory, end: float, heal: float | None) -> list[Finding]:
    """Workers whose last word was a lost connection, long after the last heal."""
    if heal is None:
        return []
    bound = reconnect_bound(history)
    findings = []
    for hostname, event in _last_by_host(history).items():
        if event.kind != "worker.connection_lost":
            continue
        since = max(event.at, heal)
        if end - since <= bound:
            continue
        findings.append(Finding(
            f"{_short(hostname)} lost its broker connection at {format_seconds(event.at)} and had "
            f"not reconnected by the run's end at {format_seconds(end)}, "
            f"{end - since:.1f} s after the last heal at {format_seconds(heal)} (bound "
            f"{_bound_text(history)})",
            None, tuple(history.windows_around(event.at, end)),
        ))  # fmt: skip
    return findings


@register_invariant("workers")
def check_workers(history: RunHistory) -> Verdict:
    """No worker exits unless a fault stops it; every worker reconnects after the last heal
    and answers remote control."""
    end = _run_end(history)
    findings = (_exits(history, end) + _not_back(history, end, last_heal(history))
                + unanswered(history))  # fmt: skip
    workers = len({e.hostname for e in history.worker_events if e.kind == "worker.ready"})
    pinged = asked_count(history)
    answering = f", {pinged} answering remote control" if pinged else ""
    return verdict_from_findings(
        "workers",
        findings,
        expected=("no worker exits unless a fault stops it; each reconnects within "
                  f"{_bound_text(history)} of the last heal and answers inspect ping"),  # fmt: skip
        observed=(f"{len(findings)} of {workers} workers crashed, stopped, stayed disconnected "
                  "or deaf to remote control"),  # fmt: skip
        held=f"{workers} workers, none exited on its own, each connected at the end{answering}",
        details={"reconnect_seconds": reconnect_bound(history), "pinged": pinged},
    )
