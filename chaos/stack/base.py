"""The stack's one interface: what every backend (local processes, docker containers) exposes.

A stack is a context manager. Entering it starts Redis, the fault proxy in front of it and the
workers, and waits until each is ready (a condition with a deadline, never a sleep). Leaving it
stops everything it started, also after an exception or Ctrl-C. Every client, the producer and
the workers alike, reaches Redis only through the proxy, so that a restarted Redis comes back at
the same address and every fault on the wire applies to everyone.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

Persistence = Literal["none", "everysec", "always"]
Pool = Literal["solo", "prefork", "threads"]
WorkerStart = Literal["spawn", "forkserver"]

#: kombu's separator between a queue's name and its priority level in Redis key names.
PRIORITY_SEPARATOR = "\x06\x16"

#: Where the reference app lives; the default ``StackConfig.workdir``.
REFERENCE_APP_DIR = Path(__file__).resolve().parents[2] / "app"


@dataclass
class StackConfig:
    """What a stack starts. The defaults run the reference app with one solo worker."""

    app: str = "myproject"
    """The Celery app, as ``celery -A`` takes it."""
    workdir: Path = REFERENCE_APP_DIR
    """Directory the worker runs in (put on ``sys.path``)."""
    settings_module: str | None = "myproject.settings"
    """``DJANGO_SETTINGS_MODULE`` for Django apps; None for a plain Celery app."""
    workers: int = 1
    pool: Pool = "solo"
    concurrency: int = 1
    prefetch_multiplier: int | None = None
    disable_prefetch: bool | None = None
    """``worker_disable_prefetch`` for every worker (celery 5.6+); None: the app's own."""
    queues: Sequence[str] | None = None
    """``celery worker -Q``; None: what Celery selects by default (``task_default_queue``)."""
    mingle: bool = False
    gossip: bool = False
    heartbeat: bool = False
    """Celery's mingle, gossip and heartbeat steps: off by default here for fast fixtures (mingle
    alone costs about 1 s at start); a scenario's topology turns them on, as ``celery worker``
    does. ``chaos.stack.shape`` resolves a worker's shape from these and ``per_worker``."""
    per_worker: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """What one worker (by name, ``worker-2``) does differently: any of ``pool``, ``concurrency``,
    ``queues``, ``mingle``, ``gossip``, ``heartbeat``, ``prefetch_multiplier``,
    ``disable_prefetch``."""
    persistence: Persistence = "none"
    celery_settings: Mapping[str, Any] = field(default_factory=dict)
    """Celery settings applied to the workers (and the producer) before the app is finalized,
    e.g. ``{"task_acks_late": True, "broker_transport_options": {"visibility_timeout": 5}}``."""
    env: Mapping[str, str] = field(default_factory=dict)
    """The app's environment: every app process gets it (workers, the producer, set-up)."""
    database_env: str | None = None
    """The variable the app's settings read the SQLite path from; None: the suite's settings
    wrapper overrides ``DATABASES["default"]["NAME"]`` (the project's own database is never used)."""
    setup: Sequence[str] = ()
    """Commands run once after the run's database is migrated, before the workers start
    (``python manage.py seed_customers``): a failing one is a StackError naming it."""
    run_dir: Path | None = None
    """Where journal, logs, pidfiles and Redis data go; a fresh one under ``.chaos/runs`` if None."""
    run_id: str | None = None
    seed: int = 0
    start_timeout: float = 30.0
    """Seconds for the parts to start and answer, from when their images are ready (building or
    loading images is not counted)."""
    worker_start: WorkerStart = "spawn"
    clock: Any = None
    """The run's chaos.clock.AppClock when dilated: the stack's own journal lines then carry the
    app's time (the workers get the clock through ``env``)."""
    """How the local backend starts a worker: ``spawn`` a new interpreter (the plain way), or
    ``forkserver``: fork a warm interpreter that has Celery, kombu and Django imported already
    (much faster after the first stack in a process, slower for the first; the owner's main script
    must be import-safe, as for multiprocessing; ignored by the docker backend)."""


class BrokerHandle(abc.ABC):
    """The Redis server itself (not the proxy in front of it)."""

    @abc.abstractmethod
    def kill(self) -> None:
        """SIGKILL (docker kill): gone at once, unsaved data lost per the persistence setting."""

    @abc.abstractmethod
    def stop(self) -> None:
        """SIGTERM (docker stop): Redis's own shutdown (saves if persistence is on)."""

    @abc.abstractmethod
    def pause(self) -> None:
        """SIGSTOP (docker pause): a hung broker; TCP connects still succeed."""

    @abc.abstractmethod
    def resume(self) -> None:
        """SIGCONT (docker unpause)."""

    @abc.abstractmethod
    def start(self) -> None:
        """Start a stopped or killed broker on the same port with the same data directory."""

    def restart(self) -> None:
        """Stop (if running) and start again at the same address, same data."""
        if self.is_running():
            self.stop()
        self.start()

    @abc.abstractmethod
    def is_running(self) -> bool: ...

    def disconnect_clients(
        self, *, name: str | None = None, addr: str | None = None, prefix: str | None = None
    ) -> list[dict[str, str]]:
        """``CLIENT KILL`` of Redis's normal clients (all, or those with this name, name prefix
        or address), on Redis's own port: connections reset by the server. Returns the clients
        it killed."""
        from chaos.stack._redis_clients import disconnect_clients

        return disconnect_clients(self.direct_url, name=name, addr=addr, prefix=prefix)

    @abc.abstractmethod
    def reconfigure(self, settings: Mapping[str, str]) -> dict[str, str]:
        """CONFIG SET on Redis itself, in order (never through the proxy, which may be faulted);
        returns the settings' previous values, so the caller can put them back."""

    @property
    @abc.abstractmethod
    def paused(self) -> bool:
        """True between ``pause()`` and ``resume()``: the process is stopped, not gone."""

    @property
    @abc.abstractmethod
    def direct_url(self) -> str:
        """redis:// URL that bypasses the proxy: for the stack's own inspection only."""


@runtime_checkable
class BrokerProxyHandle(Protocol):
    """The proxy in front of Redis, as a stack hands it out: Toxiproxy's words (toxics, down/up).

    ``chaos.ProxyHandle`` (a proxy on any Toxiproxy API) is the implementation both backends
    return; a backend may return anything else that keeps these promises.
    """

    @property
    def name(self) -> str: ...

    @property
    def listen_port(self) -> int:
        """The port the proxy listens on (as the host sees it for the local backend)."""

    @property
    def upstream(self) -> str: ...

    @property
    def enabled(self) -> bool:
        """As of the last reply seen (``refresh()`` asks again)."""

    def add_toxic(
        self, type: str, *, name: str | None = None, stream: str | None = None,
        toxicity: float = 1.0, **attributes: Any,
    ) -> Any:  # fmt: skip
        """Add a toxic and leave it until ``remove_toxic`` or ``reset``."""

    def toxic(
        self, type: str, *, name: str | None = None, stream: str | None = None,
        toxicity: float = 1.0, **attributes: Any,
    ) -> AbstractContextManager[Any]:  # fmt: skip
        """The toxic for the duration of a ``with`` block, removed also when the block raises."""

    def remove_toxic(self, name: str) -> None: ...

    def toxics(self) -> Sequence[Any]: ...

    def disable(self) -> Any:
        """Toxiproxy's "down": the listener closes, live connections are cut."""

    def enable(self) -> Any:
        """Toxiproxy's "up": the listener opens again on the same port."""

    def reset(self) -> Any:
        """No toxics, enabled."""

    def refresh(self) -> Any: ...


class WorkerHandle(abc.ABC):
    """One ``celery worker`` (a process group locally, a container in docker)."""

    name: str
    """Stable name within the stack, e.g. ``worker-1``; the Celery hostname is derived from it."""

    @property
    @abc.abstractmethod
    def hostname(self) -> str:
        """Celery node name (``-n``), as the probe records it."""

    @property
    @abc.abstractmethod
    def pid(self) -> int | None:
        """Main process pid (None when not running or not known)."""

    @abc.abstractmethod
    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool children)."""

    @abc.abstractmethod
    def terminate(self, grace: float = 10.0) -> bool:
        """SIGTERM to the main process (Celery's warm shutdown), escalating to SIGKILL after
        ``grace`` seconds. Returns True if it exited by itself, False if it had to be killed."""

    def kill_pool_process(self, pid: int) -> None:
        """SIGKILL one pool process (``pid`` as the probe journals it); the main process lives
        and its pool starts a new one. StackError when ``pid`` is not this worker's child."""
        from chaos.errors import StackError

        raise StackError(self.name, "this backend cannot kill one pool process")

    @abc.abstractmethod
    def spawn(self) -> None:
        """Start the worker without waiting for it to be ready (a no-op if it is alive)."""

    def start(self) -> None:
        """Start the worker and wait until the probe reports it ready."""
        self.spawn()
        self.wait_ready()

    def restart(self) -> None:
        if self.is_alive():
            self.terminate()
        self.start()

    @abc.abstractmethod
    def is_alive(self) -> bool: ...

    @abc.abstractmethod
    def wait_ready(self, timeout: float = 30.0) -> None:
        """Block until the probe reports this worker ready; StackError naming it otherwise."""


class Stack(AbstractContextManager["Stack"], abc.ABC):
    """Broker, proxy and workers for one run, with the URLs clients use."""

    config: StackConfig
    run_id: str
    run_dir: Path
    _workers: list[Any]
    _journal: Any  # chaos.journal.JournalWriter once started

    # --- lifecycle: backends start and close their parts; the rest is shared ------------------

    @abc.abstractmethod
    def start(self) -> None:
        """Start every part and wait until each is ready; on any failure stop what started."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stop everything this stack started."""

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _remaining(self, began: float) -> float:
        """What is left of the start deadline (never less than half a second)."""
        import time

        return max(0.5, self.config.start_timeout - (time.monotonic() - began))

    @property
    def journal_path(self) -> Path:
        from chaos.journal import JOURNAL_FILE

        return self.run_dir / JOURNAL_FILE

    @property
    def journal(self) -> Any:
        """The stack's own ``JournalWriter`` (faults, escalations); StackError before start."""
        if self._journal is None:
            from chaos.errors import StackError

            raise StackError("stack", "not started")
        return self._journal

    def celery_settings(self, *, with_broker_url: bool = True) -> dict[str, Any]:
        """The overrides every worker applies, broker URL included (unless the worker is spawned
        before the broker's address is known, and reads it later)."""
        settings = dict(self.config.celery_settings)
        if with_broker_url:
            settings["broker_url"] = self.worker_broker_url
        if self.config.prefetch_multiplier is not None:
            settings["worker_prefetch_multiplier"] = self.config.prefetch_multiplier
        return settings

    @property
    @abc.abstractmethod
    def broker(self) -> BrokerHandle: ...

    @property
    @abc.abstractmethod
    def proxy(self) -> BrokerProxyHandle:
        """The broker's proxy: a ``chaos.proxy.ProxyHandle`` bound to the proxy in front of Redis
        (``.toxic(...)`` context manager, ``.disable()``, ``.enable()``, ``.reset()``)."""

    @property
    def workers(self) -> Sequence[WorkerHandle]:
        return tuple(self._workers)

    @abc.abstractmethod
    def _new_worker(self, name: str) -> WorkerHandle:
        """A handle for a new worker called ``name``, not started yet."""

    def _retire_worker(self, worker: WorkerHandle) -> None:
        """Stop a worker that scaling down removes (Celery's warm shutdown)."""
        worker.terminate()

    def scale(self, count: int) -> None:
        """Start or stop workers until ``count`` run; new ones wait until ready."""
        if count < 0:
            from chaos.errors import ConfigError, Problem

            raise ConfigError(
                [Problem("negative worker count", field_path="workers", given=str(count),
                         expected=">= 0")]
            )  # fmt: skip
        while len(self._workers) > count:
            self._retire_worker(self._workers.pop())
        added = []
        while len(self._workers) < count:
            worker = self._new_worker(f"worker-{self._next_worker_number()}")
            self._workers.append(worker)
            worker.spawn()
            added.append(worker)
        for worker in added:
            worker.wait_ready(self.config.start_timeout)

    def _next_worker_number(self) -> int:
        """The lowest number no live worker's name uses (worker-1, worker-2, ...)."""
        used = {int(w.name.rsplit("-", 1)[1]) for w in self._workers}
        return next(n for n in range(1, len(used) + 2) if n not in used)

    # --- the producer: on this machine, unless the app's data lives with the workers ------------

    @classmethod
    def producer_on_engine(cls, config: StackConfig) -> bool:
        """Whether the runner's producer must run where the workers run (``start_producer``),
        because they share files there (a docker engine's volume); False: on this machine."""
        return False

    def start_producer(self, command: list[str], env: Mapping[str, str], log_path: Path) -> Any:
        """Start ``command`` beside the workers; a ``subprocess.Popen``-like handle."""
        raise NotImplementedError(f"{type(self).__name__} runs its producer on this machine")

    def fetch_app_data(self) -> None:
        """Bring the app's database to ``RUN_DIR/db.sqlite3`` if it lives elsewhere (no-op)."""

    @property
    @abc.abstractmethod
    def producer_broker_url(self) -> str:
        """Broker URL for a producer on this host: the proxy's address."""

    @property
    @abc.abstractmethod
    def worker_broker_url(self) -> str:
        """Broker URL the workers use: the proxy's address as the workers see it."""

    def queue_lengths(self) -> dict[str, int]:
        """Messages waiting per queue plus ``unacked``, read from Redis directly (not through the
        proxy, so that a toxic does not hide them). StackError when Redis does not answer."""
        import redis

        from chaos.errors import StackError

        client = redis.Redis.from_url(
            self.broker.direct_url, socket_timeout=2.0, socket_connect_timeout=1.0, retry=None
        )
        try:
            lengths: dict[str, int] = {"celery": 0}
            for key in client.scan_iter(count=1000):
                if client.type(key) == b"list":
                    # kombu stores priority levels as "<queue>\x06\x16<priority>" lists.
                    queue = key.decode(errors="replace").split(PRIORITY_SEPARATOR, 1)[0]
                    lengths[queue] = lengths.get(queue, 0) + int(client.llen(key))
            lengths["unacked"] = int(client.hlen("unacked"))
            return lengths
        except redis.RedisError as exc:
            raise StackError(
                "broker",
                f"cannot read queue lengths from {self.broker.direct_url}: {exc}",
                hint="is the broker killed or paused?",
            ) from exc
        finally:
            client.close()

    def wait_queues_empty(self, timeout: float = 30.0) -> None:
        """Block until no message is queued or unacknowledged; StackError on the deadline."""
        from chaos.errors import StackError
        from chaos.stack._waiting import poll_until

        last: dict[str, int] = {}

        def empty() -> bool:
            last.clear()
            last.update(self.queue_lengths())
            return not any(last.values())

        if not poll_until(empty, timeout, max_interval=0.1):
            raise StackError("broker", f"queues not empty after {timeout:.0f} s: {last}")

    def __iter__(self) -> Iterator[WorkerHandle]:
        return iter(self.workers)
