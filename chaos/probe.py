"""The worker-side probe: journals every task attempt and the worker's lifecycle from Celery's
signals, so that the checker judges the history against what the task code declares.

Loaded into a worker without editing the app, either by the stack's launcher
(``python -m chaos.stack.launch``) or with ``celery -A APP worker --include chaos.probe``.
It is a no-op when ``CHAOS_RUN_DIR`` is unset. Signal handlers are process-global in Celery, so
handlers connected in the worker's main process before the pool forks also fire in the children
(measured: reference/celery-redis-failure-facts.md, section 8).
"""

from __future__ import annotations

import inspect
import logging
import os
import socket
import threading
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from chaos.failpoints import failpoint
from chaos.journal import ENV_RUN_DIR, JournalWriter, args_digest, qualified_name

ENV_WORKER_NAME = "CHAOS_WORKER_NAME"

#: The failpoint fired in every task_success signal: result stored, message not yet acked.
AFTER_SUCCESS_FAILPOINT = "celery.task_success"
#: Filled by the launcher before the worker starts; reported with ``worker.ready`` as ``boot``.
boot_seconds: dict[str, float] = {}

_writer: JournalWriter | None = None
_installed = False
_install_lock = threading.Lock()
_started_mono: dict[str, float] = {}
_policies: dict[str, dict[str, Any]] = {}
_worker_state: dict[str, Any] = {
    "hostname": None, "main_mono": None, "init_mono": None, "connection_lost": False,
}  # fmt: skip


def mark_worker_main() -> None:
    """The launcher is about to call ``worker_main``: boot timing from here to worker_init."""
    _worker_state["main_mono"] = time.monotonic()


def declared_policy(task: Any) -> dict[str, Any]:
    """The retry policy as the task's code declares it (cached per task name)."""
    if hasattr(task, "_get_current_object"):  # a lazy task proxy from an unfinalized app
        task = task._get_current_object()
    name = getattr(task, "name", None)
    if name in _policies:
        return _policies[name]
    run = inspect.getattr_static(type(task), "run", None)
    policy = {
        "bind": not isinstance(run, staticmethod),
        "max_retries": getattr(task, "max_retries", None),
        "default_retry_delay": getattr(task, "default_retry_delay", None),
        "autoretry_for": [qualified_name(cls) for cls in getattr(task, "autoretry_for", ()) or ()],
        "retry_backoff": getattr(task, "retry_backoff", False),
        "retry_backoff_max": getattr(task, "retry_backoff_max", None),
        "retry_jitter": getattr(task, "retry_jitter", None),
        "acks_late": bool(getattr(task, "acks_late", False)),
        "reject_on_worker_lost": getattr(task, "reject_on_worker_lost", None),
        "retry_kwargs": _plain(getattr(task, "retry_kwargs", None) or {}),
    }
    if name is not None:
        _policies[name] = policy
    return policy


def _journal() -> JournalWriter | None:
    global _writer
    if _writer is None:
        run_dir = os.environ.get(ENV_RUN_DIR)
        if not run_dir:
            return None
        name = os.environ.get(ENV_WORKER_NAME) or socket.gethostname()
        _writer = JournalWriter.for_run_dir(run_dir, f"worker:{name}")
    return _writer


def _write(kind: str, **fields: Any) -> None:
    writer = _journal()
    if writer is not None:
        writer.write(kind, **fields)


def _eta_wall(eta: Any) -> float | None:
    """Celery carries eta as an ISO string or a datetime; the journal wants wall seconds."""
    if eta is None or eta == "":
        return None
    if isinstance(eta, datetime):
        return eta.timestamp()
    if isinstance(eta, (int, float)):
        return float(eta)
    try:
        return datetime.fromisoformat(str(eta)).timestamp()
    except ValueError:
        return None


def _plain(values: Mapping[str, Any]) -> dict[str, Any]:
    """A declaration's mapping as the journal can hold it (numbers and strings kept, else repr)."""
    return {
        str(k): v if isinstance(v, (int, float, str, bool)) or v is None else repr(v)
        for k, v in dict(values).items()
    }


def _routing(delivery_info: Mapping[str, Any] | None) -> dict[str, Any]:
    """Where the broker delivered the message from: the routing invariant's evidence."""
    info = delivery_info or {}
    return {"routing_key": info.get("routing_key"), "exchange": info.get("exchange")}


def _consumed_queues(consumer: Any) -> list[dict[str, Any]]:
    """The queues the worker's task consumer reads at ready (name and routing key each)."""
    task_consumer = getattr(consumer, "task_consumer", None)
    queues = getattr(task_consumer, "queues", None) or ()
    return [{"name": getattr(q, "name", None), "routing_key": getattr(q, "routing_key", None)}
            for q in queues]  # fmt: skip


def _redelivered(delivery_info: Mapping[str, Any] | None) -> bool:
    return bool((delivery_info or {}).get("redelivered"))


def _exc_fields(exc: BaseException | None) -> dict[str, Any]:
    if exc is None:
        return {"exc_type": None, "exc_message": None}
    return {"exc_type": qualified_name(exc), "exc_message": str(exc)}


# --- task signals ---------------------------------------------------------------------------


def on_task_received(sender: Any = None, request: Any = None, **_: Any) -> None:
    request_dict = getattr(request, "request_dict", None) or {}
    _write(
        "task.received",
        task_id=request.id,
        task=request.name,
        attempt=request_dict.get("retries", 0),
        eta=_eta_wall(request.eta),
        redelivered=_redelivered(request.delivery_info),
        hostname=request.hostname,
        **_routing(request.delivery_info),
    )


def on_task_prerun(
    sender: Any = None, task_id: str = "", task: Any = None, args: Any = None,
    kwargs: Any = None, **_: Any,
) -> None:  # fmt: skip
    request = task.request
    _started_mono[task_id] = time.monotonic()
    _write(
        "task.started",
        task_id=task_id,
        task=task.name,
        attempt=request.retries,
        eta=_eta_wall(request.eta),
        redelivered=_redelivered(request.delivery_info),
        hostname=request.hostname,
        args_digest=args_digest(args, kwargs),
        policy=declared_policy(task),
        **_routing(request.delivery_info),
    )


def on_task_retry(sender: Any = None, request: Any = None, reason: Any = None, **_: Any) -> None:
    when = getattr(reason, "when", None)
    countdown = float(when) if isinstance(when, (int, float)) else None
    if isinstance(when, datetime):
        retry_eta = when.timestamp()
    elif countdown is not None:
        retry_eta = time.time() + countdown
    else:
        retry_eta = None
    cause = getattr(reason, "exc", None) or reason
    _write(
        "task.retried",
        task_id=request.id,
        task=getattr(sender, "name", None),
        attempt=request.retries,
        countdown=countdown,
        retry_eta=retry_eta,
        **_exc_fields(cause if isinstance(cause, BaseException) else None),
    )


def on_task_success(sender: Any = None, result: Any = None, **_: Any) -> None:
    request = sender.request
    started = _started_mono.get(request.id)
    _write(
        "task.succeeded",
        task_id=request.id,
        task=sender.name,
        attempt=request.retries,
        runtime=None if started is None else time.monotonic() - started,
    )
    # Celery sends task_success after the result is stored and before the message is
    # acknowledged (acks_late): a failpoint here holds a worker in that window, for a fault
    # to kill it there (celery#9835). Unarmed, it costs one check.
    failpoint(AFTER_SUCCESS_FAILPOINT)


def on_task_failure(
    sender: Any = None, task_id: str = "", exception: BaseException | None = None, **_: Any
) -> None:
    request = getattr(sender, "request", None)
    # In the main process (WorkerLostError) the task's request context is not this task's.
    attempt = request.retries if request is not None and request.id == task_id else None
    _write(
        "task.failed",
        task_id=task_id,
        task=getattr(sender, "name", None),
        attempt=attempt,
        **_exc_fields(exception),
    )


def on_task_postrun(
    sender: Any = None, task_id: str = "", task: Any = None, state: str | None = None, **_: Any
) -> None:
    _started_mono.pop(task_id, None)
    _write(
        "task.finished",
        task_id=task_id,
        task=getattr(task, "name", None),
        attempt=task.request.retries if task is not None else None,
        state=state,
    )


def on_task_revoked(
    sender: Any = None, request: Any = None, terminated: bool = False, signum: Any = None,
    expired: bool = False, **_: Any,
) -> None:  # fmt: skip
    request_dict = getattr(request, "request_dict", None) or {}
    _write(
        "task.revoked",
        task_id=getattr(request, "id", None),
        task=getattr(request, "name", None) or getattr(sender, "name", None),
        attempt=request_dict.get("retries"),
        terminated=bool(terminated),
        signum=None if signum is None else int(signum),
        expired=bool(expired),
    )


def on_task_rejected(sender: Any = None, message: Any = None, exc: Any = None, **_: Any) -> None:
    headers = getattr(message, "headers", None) or {}
    _write(
        "task.rejected",
        task_id=headers.get("id"),
        task=headers.get("task"),
        attempt=headers.get("retries"),
        requeue=None,
        **_exc_fields(exc if isinstance(exc, BaseException) else None),
    )


def on_task_unknown(
    sender: Any = None, name: str | None = None, id: str | None = None, **_: Any
) -> None:
    _write("task.unknown", task_id=id, task=name)


# --- worker lifecycle -------------------------------------------------------------------------


def on_worker_init(sender: Any = None, **_: Any) -> None:
    _worker_state["init_mono"] = time.monotonic()
    if _worker_state["main_mono"] is not None:
        boot_seconds["worker_main_to_init"] = _worker_state["init_mono"] - _worker_state["main_mono"]
    _worker_state["hostname"] = getattr(sender, "hostname", None)


def on_worker_ready(sender: Any = None, **_: Any) -> None:
    hostname = getattr(sender, "hostname", None) or _worker_state["hostname"]
    _worker_state["hostname"] = hostname
    controller = getattr(sender, "controller", None)
    pool_cls = getattr(controller, "pool_cls", None)
    pool = pool_cls if isinstance(pool_cls, str) else getattr(pool_cls, "__module__", None)
    boot = dict(boot_seconds)
    if _worker_state["init_mono"] is not None:
        boot["worker_init_to_ready"] = time.monotonic() - _worker_state["init_mono"]
    _write(
        "worker.ready",
        hostname=hostname,
        pool=pool.rsplit(".", 1)[-1] if pool else None,
        concurrency=getattr(controller, "concurrency", None),
        boot=boot,
        queues=_consumed_queues(sender),
        visibility_timeout=_visibility_timeout(getattr(sender, "app", None)),
        restore_lock=_restore_lock(getattr(sender, "app", None)),
        **_prefetch_fields(getattr(sender, "app", None)),
        control=_control_fields(getattr(sender, "app", None)),
        **_result_backend_fields(getattr(sender, "app", None)),
    )


def _prefetch_fields(app: Any) -> dict[str, Any]:
    """The prefetch bound the worker was configured with (the ``prefetch`` invariant's bound):
    ``disable_prefetch`` only when this Celery knows the setting (5.6+; older ones ignore it)."""
    conf = getattr(app, "conf", None)
    if conf is None:
        return {}
    from celery.app.defaults import DEFAULTS

    multiplier = conf.get("worker_prefetch_multiplier")
    fields: dict[str, Any] = {
        "prefetch_multiplier": multiplier if isinstance(multiplier, int) else None,
        "acks_late": bool(conf.get("task_acks_late")),
    }
    if "worker_disable_prefetch" in DEFAULTS:
        fields["disable_prefetch"] = bool(conf.get("worker_disable_prefetch"))
    return fields


#: The transport options that decide where a remote-control broadcast goes on Redis.
_CONTROL_TRANSPORT_OPTIONS = ("global_keyprefix", "fanout_prefix", "fanout_patterns")


def _control_fields(app: Any) -> dict[str, Any] | None:
    """How to reach this worker's remote control (the runner pings it after the drain):
    whether it is on, the control exchange, and the Redis options that name its keys."""
    conf = getattr(app, "conf", None)
    if conf is None:
        return None
    options = conf.get("broker_transport_options") or {}
    return {
        "enabled": bool(conf.get("worker_enable_remote_control", True)),
        "exchange": conf.get("control_exchange") or "celery",
        "transport_options": {k: options[k] for k in _CONTROL_TRANSPORT_OPTIONS if k in options},
    }


def _result_backend_fields(app: Any) -> dict[str, Any]:
    """The result backend the app declares (its URL's password masked), for the runner's
    ``results.snapshot``; nothing when the app cannot be asked."""
    conf = getattr(app, "conf", None)
    if conf is None:
        return {}
    backend = conf.get("result_backend")
    if isinstance(backend, str) and "://" in backend:
        from kombu.utils.url import maybe_sanitize_url

        backend = maybe_sanitize_url(backend)
    return {"result_backend": None if backend is None else str(backend),
            "task_ignore_result": bool(conf.get("task_ignore_result"))}  # fmt: skip


def _visibility_timeout(app: Any) -> float | None:
    """The Redis transport's visibility_timeout (kombu's default 3600 s when unset)."""
    options = getattr(getattr(app, "conf", None), "broker_transport_options", None) or {}
    value = options.get("visibility_timeout", 3600)
    return float(value) if isinstance(value, (int, float)) else None


def _restore_lock(app: Any) -> dict[str, Any]:
    """The Redis key of kombu's restore lock (``unacked_mutex``) and its expiry: a worker that
    dies holding it stops every restore of unacknowledged messages until Redis expires it."""
    options = getattr(getattr(app, "conf", None), "broker_transport_options", None) or {}
    prefix = options.get("global_keyprefix") or ""
    key = options.get("unacked_mutex_key", "unacked_mutex")
    expire = options.get("unacked_mutex_expire", 300)
    return {"key": f"{prefix}{key}",
            "expire": float(expire) if isinstance(expire, (int, float)) else None}  # fmt: skip


def on_worker_shutting_down(sender: Any = None, sig: Any = None, how: Any = None, **_: Any) -> None:
    _write("worker.shutdown", hostname=sender or _worker_state["hostname"], phase="started",
           signal=sig, how=how)  # fmt: skip


def on_worker_shutdown(sender: Any = None, **_: Any) -> None:
    _write("worker.shutdown", hostname=_worker_state["hostname"], phase="completed")


class ConnectionLogWatcher(logging.Handler):
    """Turns the consumer's log lines into connection_lost / connection_restored events: Celery
    has no signal for either (the Redis transport has no heartbeats either)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad log call in the app must not break the worker
            return
        if "Connection to broker lost" in message or "Cannot connect to" in message:
            if not _worker_state["connection_lost"]:
                _worker_state["connection_lost"] = True
                _write("worker.connection_lost", hostname=_worker_state["hostname"],
                       detail=message.splitlines()[-1][:300])  # fmt: skip
        elif message.startswith("Connected to") and _worker_state["connection_lost"]:
            _worker_state["connection_lost"] = False
            _write("worker.connection_restored", hostname=_worker_state["hostname"],
                   detail=message[:300])  # fmt: skip


class CrashLogWatcher(logging.Handler):
    """Turns the worker's "Unrecoverable error" (logged on ``celery.worker`` just before it stops,
    with no signal of its own) into ``worker.crashed`` with the exception."""

    PREFIX = "Unrecoverable error"

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad log call in the app must not break the worker
            return
        if message.startswith(self.PREFIX):
            error = message.splitlines()[0][len(self.PREFIX) :].lstrip(": ")
            _write("worker.crashed", hostname=_worker_state["hostname"], error=error[:300])


def install() -> bool:
    """Connect the handlers (once per process); False, and nothing done, outside a chaos run."""
    global _installed
    with _install_lock:
        if _installed or not os.environ.get(ENV_RUN_DIR):
            return False
        from celery import signals

        for signal, handler in (
            (signals.task_received, on_task_received),
            (signals.task_prerun, on_task_prerun),
            (signals.task_retry, on_task_retry),
            (signals.task_success, on_task_success),
            (signals.task_failure, on_task_failure),
            (signals.task_postrun, on_task_postrun),
            (signals.task_revoked, on_task_revoked),
            (signals.task_rejected, on_task_rejected),
            (signals.task_unknown, on_task_unknown),
            (signals.worker_init, on_worker_init),
            (signals.worker_ready, on_worker_ready),
            (signals.worker_shutting_down, on_worker_shutting_down),
            (signals.worker_shutdown, on_worker_shutdown),
        ):
            signal.connect(handler, weak=False)
        watcher = ConnectionLogWatcher(level=logging.INFO)
        for logger_name in ("celery.worker.consumer.consumer", "celery.worker.consumer.connection"):
            logging.getLogger(logger_name).addHandler(watcher)
        logging.getLogger("celery.worker").addHandler(CrashLogWatcher(level=logging.CRITICAL))
        _installed = True
        return True


# ``--include chaos.probe`` imports this module in the worker: that import is the install.
install()
