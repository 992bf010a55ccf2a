"""Whether the workers still answer remote control, asked once the run has drained.

A worker can reconnect and consume again while its remote control is gone: celery 5.6.1 and
5.6.2 (celery#10096) drop out of ``celery inspect ping`` after a broker restart, so an
operator's health check or autoscaler reads the worker as dead, and ``revoke``,
``add_consumer`` or a rate limit never reach it. No task-level event shows that; so, with the
stack still up, the runner broadcasts ``ping`` the way ``celery inspect ping`` does, to Redis on
its own port (never through the proxy), and journals who answered (``control.ping``, one event
per attempt). ``chaos.checks.control`` judges it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from chaos.journal import JOURNAL_FILE, JournalWriter, read_journal

CONTROL_EVENT = "control.ping"
#: Seconds one broadcast waits for replies (real: Redis and the reply queue keep real time).
#: A connected worker answers within milliseconds; a second covers a loaded machine.
PING_TIMEOUT = 1.0
#: Broadcasts before the runner gives up on a silent worker: three seconds in all.
ATTEMPTS = 3


def live_workers(journal: Path) -> tuple[list[str], dict[str, Any] | None]:
    """The hostnames whose last lifecycle event is not a stop, and the remote-control settings
    the first of them reported at ready (None: no worker reported any)."""
    alive: dict[str, bool] = {}
    control: dict[str, Any] | None = None
    for event in read_journal(journal):
        hostname = event.data.get("hostname")
        if not hostname:
            continue
        if event.kind == "worker.ready":
            alive[hostname] = True
            control = control or event.data.get("control")
        elif event.kind in ("worker.shutdown", "worker.crashed"):
            alive[hostname] = False
    return [name for name, up in alive.items() if up], control


def _app(direct_url: str, control: dict[str, Any]) -> Any:
    from celery import Celery

    app = Celery("chaos-control", broker=direct_url, set_as_current=False)
    app.conf.control_exchange = control.get("exchange") or "celery"
    app.conf.broker_transport_options = dict(control.get("transport_options") or {})
    app.conf.broker_connection_retry = False
    return app


def ask_control(writer: JournalWriter, run_dir: Path, direct_url: str,
                dilation: float = 1.0) -> None:  # fmt: skip
    """Ping every live worker until each has answered or ``ATTEMPTS`` broadcasts went unanswered;
    journal each attempt (``asked``, ``answered``), or why none was made (``skipped``)."""
    asked, control = live_workers(run_dir / JOURNAL_FILE)
    if dilation != 1.0:
        # kombu's pidbox stamps a broadcast with ``expires`` = the sender's time() + timeout and
        # the worker drops it once its own time() is past that: a dilated worker's clock runs
        # ahead of the runner's real one, so every ping would be dropped unanswered.
        writer.write(CONTROL_EVENT, asked=asked, answered=[],
                     skipped=f"dilated clock (x{dilation:g}): a worker drops the runner's ping "
                             "as expired (kombu pidbox's expires header)")  # fmt: skip
        return
    if not asked or not control:
        writer.write(CONTROL_EVENT, asked=asked, answered=[], skipped="no worker reported "
                     "its remote control at ready" if asked else "no live worker")  # fmt: skip
        return
    if not control.get("enabled", True):
        writer.write(CONTROL_EVENT, asked=asked, answered=[],
                     skipped="worker_enable_remote_control is off")  # fmt: skip
        return
    app = _app(direct_url, control)
    answered: set[str] = set()
    try:
        for _ in range(ATTEMPTS):
            waiting = sorted(set(asked) - answered)
            began = time.monotonic()
            try:
                replies = app.control.ping(destination=waiting, timeout=PING_TIMEOUT,
                                           limit=len(waiting))  # fmt: skip
                error = None
            except Exception as exc:  # noqa: BLE001 - an unreachable broker is said, not raised
                replies, error = [], f"{type(exc).__name__}: {exc}"[:300]
            now = sorted(name for reply in replies or [] for name in reply if name in waiting)
            answered.update(now)
            writer.write(CONTROL_EVENT, asked=waiting, answered=now, error=error,
                         waited=round(time.monotonic() - began, 3))  # fmt: skip
            if answered >= set(asked):
                return
    finally:
        app.close()
