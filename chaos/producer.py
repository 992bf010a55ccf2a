"""The journaled, time-bounded publish: how a workload enqueues tasks through the proxy.

Under Celery's defaults a publish to a hung broker (SIGSTOP, or a proxy that stops answering)
blocks forever: the TCP connect succeeds and the read never returns (measured,
reference/celery-redis-failure-facts.md section 2). The producer therefore publishes on its own
connection with socket timeouts and a short retry policy, so every ``send`` returns within a
bound, and journals what happened: ``enqueue.tried`` before, then ``enqueue.accepted`` or
``enqueue.refused`` (exception, seconds, and ``uncertain`` when the message may have reached the
broker anyway). It assigns the task id itself, so a refused publish and a later delivery of the
same task share one id. Works with any Celery app object; a Django app's settings must be
configured by the caller (pytest-django does it).
"""

from __future__ import annotations

import socket
import time
import traceback
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import kombu.exceptions
import redis.exceptions

from chaos.client_names import PRODUCER_CLIENT_NAME
from chaos.journal import JournalWriter, args_digest, qualified_name

#: What a failed publish raises (kombu wraps most of it in OperationalError).
PUBLISH_ERRORS: tuple[type[BaseException], ...] = (
    kombu.exceptions.KombuError,
    redis.exceptions.RedisError,
    OSError,
)

#: The publish options the journal records as asked (the routing and ETA invariants read them).
ASKED_OPTIONS = ("queue", "routing_key", "exchange", "countdown", "eta")


def _plain_option(value: Any) -> Any:
    """An option as JSON holds it: an eta datetime as wall seconds, a Queue by its name."""
    if hasattr(value, "timestamp"):
        return value.timestamp()
    if isinstance(value, (int, float, str)):
        return value
    return getattr(value, "name", None) or repr(value)


@dataclass(frozen=True)
class EnqueueOutcome:
    """What one publish did; ``uncertain`` means refused as far as we know, maybe sent."""

    task_id: str
    accepted: bool
    seconds: float
    exc_type: str | None = None
    exc_message: str | None = None
    uncertain: bool = False


def _chain_links(names: Sequence[str] | None) -> list[dict[str, str]]:
    """The tasks to chain after this one, each with a fresh id, in run order (journaled, so
    that the history knows which child a parent's success implies)."""
    return [{"task": str(name), "task_id": str(uuid.uuid4())} for name in names or ()]


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


#: redis-py frames that mean "still connecting": nothing of the command was written yet.
CONNECT_FRAMES = frozenset(
    {"connect", "_connect", "on_connect", "connect_check_health", "on_connect_check_health"}
)
#: kombu's virtual transport writes a message in ``Channel._put`` (LPUSH for Redis).
WRITE_FRAME = "_put"


def may_have_been_sent(exc: BaseException) -> bool:
    """False only when the failure happened before the message was written.

    Read from the traceback: a failure inside kombu's ``_put`` after the connection was up (a
    read timeout, a reset) may have delivered the LPUSH; one while (re)connecting, or before
    ``_put`` (the channel's PING), did not. Behind the proxy a dead Redis looks like a closed
    connection, not a refused one, so the message text alone cannot tell. Without any traceback
    (a constructed exception) the message decides.
    """
    chain = _causes(exc)
    traced = False
    for cause in chain:
        frames = [frame.name for frame in traceback.extract_tb(cause.__traceback__)]
        traced = traced or bool(frames)
        if WRITE_FRAME in frames:
            after_write = frames[frames.index(WRITE_FRAME) :]
            return not any(name in CONNECT_FRAMES for name in after_write)
    if traced:
        return False
    text = " ".join(str(cause) for cause in chain)
    return not ("connecting to" in text or "Timeout connecting" in text)


class Producer:
    """Publishes tasks by name on a dedicated, time-bounded connection; journals every try."""

    def __init__(
        self,
        app: Any,
        broker_url: str,
        journal: JournalWriter | None,
        *,
        timeout: float = 2.0,
        publish_retries: int = 1,
        path: str = "naive",
    ) -> None:
        self.app = app
        self.broker_url = broker_url
        self.journal = journal
        self.timeout = timeout
        self.path = path
        # max_retries=0 stops kombu's ensure_connection from retrying a connect for
        # broker_connection_timeout; the publish retry below re-dials a stale connection once.
        self._transport_options = {
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
            "max_retries": 0,
            "client_name": PRODUCER_CLIENT_NAME,  # what broker.disconnect_clients tells apart
        }
        self._retry_policy = {
            "max_retries": publish_retries,
            "interval_start": 0,
            "interval_step": 0.1,
            "interval_max": 0.2,
        }
        self._connection = app.connection_for_write(
            broker_url, transport_options=self._transport_options
        )

    @classmethod
    def for_stack(cls, app: Any, stack: Any, **options: Any) -> Producer:
        """A producer publishing through ``stack``'s proxy into its journal."""
        journal = JournalWriter(stack.journal_path, f"producer@{socket.gethostname()}")
        return cls(app, stack.producer_broker_url, journal, **options)

    def send(
        self,
        task_name: str,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        *,
        key: str | None = None,
        task_id: str | None = None,
        **options: Any,
    ) -> EnqueueOutcome:
        """Publish ``task_name`` once; never raises for a broker failure, returns the outcome."""
        task_id = task_id or str(uuid.uuid4())
        asked = {k: _plain_option(options[k]) for k in ASKED_OPTIONS if options.get(k) is not None}
        links = _chain_links(options.pop("chain", None))
        if links:
            asked["chain"] = links
            options["chain"] = self._chain_signatures(links)
        self._write("enqueue.tried", task_id, task_name, path=self.path, key=key,
                    args_digest=args_digest(args, kwargs), **asked)  # fmt: skip
        failed_attempts: list[BaseException] = []
        retry_policy = {**self._retry_policy, "errback": lambda exc, _: failed_attempts.append(exc)}
        began = time.monotonic()
        try:
            self.app.send_task(
                task_name,
                args=list(args),
                kwargs=dict(kwargs or {}),
                task_id=task_id,
                connection=self._connection,
                retry=True,
                retry_policy=retry_policy,
                **options,
            )
        except PUBLISH_ERRORS as exc:
            seconds = time.monotonic() - began
            # Any attempt that may have written the message makes the whole publish uncertain.
            uncertain = any(may_have_been_sent(e) for e in [*failed_attempts, exc])
            outcome = EnqueueOutcome(
                task_id, False, seconds, qualified_name(exc), str(exc), uncertain
            )
            self._write("enqueue.refused", task_id, task_name, path=self.path, key=key,
                        exc_type=outcome.exc_type, exc_message=outcome.exc_message,
                        seconds=seconds, uncertain=outcome.uncertain)  # fmt: skip
            self._reset_connection()
            return outcome
        seconds = time.monotonic() - began
        self._write("enqueue.accepted", task_id, task_name, path=self.path, key=key,
                    seconds=seconds)  # fmt: skip
        return EnqueueOutcome(task_id, True, seconds)

    def _chain_signatures(self, links: list[dict[str, str]]) -> list[Any]:
        """Celery's ``chain`` message option: the rest of the chain, last first (the worker pops
        the next one off the end), each with the id the journal announced for it."""
        from celery import signature

        return [signature(link["task"], options={"task_id": link["task_id"]}, app=self.app)
                for link in reversed(links)]  # fmt: skip

    def _reset_connection(self) -> None:
        """After a failure, drop the connection so the next send dials afresh."""
        try:
            self._connection.close()
        except PUBLISH_ERRORS:
            pass
        self._connection = self.app.connection_for_write(
            self.broker_url, transport_options=self._transport_options
        )

    def _write(self, kind: str, task_id: str, task: str, **fields: Any) -> None:
        if self.journal is not None:
            self.journal.write(kind, task_id=task_id, task=task, **fields)

    def close(self) -> None:
        try:
            self._connection.close()
        except PUBLISH_ERRORS:
            pass

    def __enter__(self) -> Producer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
