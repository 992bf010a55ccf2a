"""Part of invariant ``workers``: a connected worker answers remote control after the faults.

The runner broadcasts ``ping`` after the drain (``chaos.runner.control``, journaled as
``control.ping``). A worker that is alive and connected (its last connection event is a ready or
a restore, so ``workers``' reconnect rule has nothing to say) but answers none of the broadcasts
has lost its control plane: ``celery inspect``, ``revoke``, ``add_consumer`` and every health
check built on ``inspect ping`` no longer reach it, whether or not it still consumes tasks
(celery#10096 on 5.6.1-5.6.2: the worker consumes again after a broker restart and has left
``inspect ping`` for good).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chaos.checks.verdict import Finding
from chaos.history.model import RunHistory, WorkerEvent, format_seconds


def _short(hostname: str) -> str:
    return hostname.split("@", 1)[0]


def _connected_since(events: list[WorkerEvent], hostname: str) -> float | None:
    """When the worker last became connected (ready or restored); None when its last
    connection event is a loss or a stop."""
    since: float | None = None
    for event in events:
        if event.hostname != hostname:
            continue
        if event.kind in ("worker.ready", "worker.connection_restored"):
            since = event.at
        elif event.kind in ("worker.connection_lost", "worker.shutdown", "worker.crashed"):
            since = None
    return since


def _executed_since(history: RunHistory, hostname: str, since: float) -> int:
    return sum(
        1 for task in history.tasks.values() for a in task.attempts
        if a.worker == hostname and a.started_at is not None and a.started_at >= since
    )  # fmt: skip


def _busy_at(history: RunHistory, hostname: str, at: float) -> bool:
    """A task still running on the worker when it was pinged: a solo pool's main process cannot
    answer until it ends, so its silence says nothing about the control plane."""
    return any(
        a.worker == hostname and a.started_at is not None and a.started_at <= at
        and (a.ended_at is None or a.ended_at >= at)
        for task in history.tasks.values() for a in task.attempts
    )  # fmt: skip


def _silent(pings: list[tuple[float, Mapping[str, Any]]]) -> dict[str, list[float]]:
    """Hostnames asked and never answered, with the times they were asked."""
    asked: dict[str, list[float]] = {}
    answered: set[str] = set()
    for at, ping in pings:
        if ping.get("skipped") or ping.get("error"):
            continue
        for name in ping.get("asked") or ():
            asked.setdefault(str(name), []).append(at)
        answered.update(str(name) for name in ping.get("answered") or ())
    return {name: times for name, times in asked.items() if name not in answered}


def unanswered(history: RunHistory) -> list[Finding]:
    """One finding per connected worker that answered none of the runner's pings."""
    events = sorted(history.worker_events, key=lambda e: e.at)
    findings = []
    for hostname, times in _silent(list(history.meta.control_pings)).items():
        since = _connected_since(events, hostname)
        if since is None:
            continue  # not connected: the reconnect rule or the stop rule speaks for it
        if _busy_at(history, hostname, times[0]):
            continue
        ran = _executed_since(history, hostname, since)
        windows = tuple(history.windows_around(since - 5.0, since))
        around = "; around it: " + ", ".join(w.describe() for w in windows) if windows else ""
        findings.append(Finding(
            f"{_short(hostname)} connected since {format_seconds(since)} (ran {ran} tasks since) "
            f"answered none of {len(times)} remote-control pings ({format_seconds(times[0])} to "
            f"{format_seconds(times[-1])}): `celery inspect`, revoke and health checks no "
            f"longer reach it{around}",
            None, windows,
        ))  # fmt: skip
    return findings


def asked_count(history: RunHistory) -> int:
    """How many workers the runner's pings asked (0: none asked, or no pings journaled)."""
    return len({str(n) for _, ping in history.meta.control_pings for n in ping.get("asked") or ()
                if not ping.get("skipped")})  # fmt: skip
