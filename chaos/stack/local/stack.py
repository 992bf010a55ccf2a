"""The local backend: Redis, the fault proxy and ``celery worker`` processes on 127.0.0.1.

No Docker: everything is a process of this machine, on free ports, in its own process group,
carrying the run id in its environment and a pidfile in the run directory. Start-up overlaps
the parts: the workers are spawned first and import Celery and Django while Redis and the proxy
come up (the proxy's own imports cost a third of a second in a fresh process); the launcher then
reads the broker URL from a file the stack writes once the proxy listens, and waits for the broker
to answer before the worker connects. A cold start costs about one worker import.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

from chaos.errors import StackError, map_exceptions
from chaos.journal import ENV_RUN_DIR, ENV_RUN_ID, JournalWriter
from chaos.probe import ENV_WORKER_NAME
from chaos.stack._config import new_run_id, run_dir_for, validate_config
from chaos.stack._app_setup import run_setup
from chaos.stack._django_db import database_env, database_for_run
from chaos.stack._journal_tail import JournalTail
from chaos.stack._ping import redis_ping
from chaos.stack._waiting import poll_until
from chaos.stack.base import BrokerProxyHandle, Stack, StackConfig, WorkerHandle
from chaos.stack.launch import (
    ENV_BROKER_URL_FILE,
    ENV_BROKER_WAIT,
    ENV_CELERY_SETTINGS,
    ENV_SPAWN_WALL,
    launcher_argv,
    mark_stack_up,
)
from chaos.stack.local.broker import LocalBroker
from chaos.stack.local.forkserver import ForkedChild
from chaos.stack.local.ports import LOOPBACK
from chaos.stack.local.process import ChildProcess
from chaos.stack.local.proxy_link import BrokerProxy
from chaos.stack.local.reaping import reap_stale_runs, register_run, unregister_run
from chaos.stack.shape import worker_shape
from chaos.stack.watchdog import Watchdog, closing_under


def _parent_pid(pid: int) -> int | None:
    """The parent of ``pid`` from /proc, None if it is gone (so a reused pid is never killed)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ")".
    return int(stat.rpartition(")")[2].split()[1])


class LocalWorker(WorkerHandle):
    """One ``celery worker`` process group started through the launcher."""

    def __init__(self, stack: LocalStack, name: str) -> None:
        self.name = name
        self._stack = stack
        self._process: ChildProcess | None = None

    @property
    def hostname(self) -> str:
        return f"{self.name}@{self._stack.run_id}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None and self._process.is_alive() else None

    @property
    def log_path(self) -> Path:
        return self._stack.run_dir / "logs" / f"{self.name}.log"

    def _argv(self) -> list[str]:
        config = self._stack.config
        return launcher_argv(
            sys.executable, config.app, hostname=self.hostname,
            shape=worker_shape(config, self.name),
        )  # fmt: skip

    def spawn(self) -> None:
        """Start the process without waiting for it to be ready."""
        if self.is_alive():
            return
        config = self._stack.config
        argv = self._argv()
        child_class: type[ChildProcess] = ChildProcess
        # A fork of the warm fork server would not have libfaketime preloaded (LD_PRELOAD is
        # read at exec): a dilated run spawns every worker.
        dilated = config.clock is not None and config.clock.dilated
        if config.worker_start == "forkserver" and not dilated:
            child_class, argv = ForkedChild, argv[3:]  # the launcher's own arguments
        self._process = child_class(
            self.name,
            argv,
            run_dir=self._stack.run_dir,
            run_id=self._stack.run_id,
            cwd=Path(self._stack.config.workdir),
            # The launcher reads it on its own clock: the app's, under a dilated one.
            env={**self._stack.worker_env(self.name),
                 ENV_SPAWN_WALL: repr(config.clock.wall() if dilated else time.time())},
        )
        self._process.start()

    def start(self) -> None:
        self.spawn()
        self.wait_ready(self._stack.config.start_timeout)

    def wait_ready(self, timeout: float = 30.0) -> None:
        process = self._process
        if process is None:
            raise StackError(self.name, "not started")

        def ready() -> bool:
            if not process.is_alive():
                raise StackError(
                    self.name,
                    f"celery worker exited with code {process.returncode} before it was ready",
                    log_tail=process.log_tail(),
                    hint=f"log: {process.log_path}",
                )
            return self._stack.saw_ready(process.pid)

        # Reading the journal's new lines is cheap: poll often, readiness is on the start path.
        if not poll_until(ready, timeout, max_interval=0.05):
            tail = process.log_tail()
            process.kill()
            raise StackError(
                self.name,
                f"celery worker not ready within {timeout:.0f} s (no worker.ready in the journal)",
                log_tail=tail,
                hint=f"log: {process.log_path}",
            )

    def is_alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def kill(self) -> None:
        if self._process is not None:
            self._process.kill()

    def kill_pool_process(self, pid: int) -> None:
        main = self.pid
        if main is None or _parent_pid(pid) != main:
            raise StackError(self.name, f"pid {pid} is not a pool process of this worker "
                             f"(main process {main})")  # fmt: skip
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError as exc:
            raise StackError(self.name, f"pool process {pid} exited before the kill") from exc

    def terminate(self, grace: float = 10.0) -> bool:
        process = self._process
        if process is None or not process.is_alive():
            return True
        process.send(signal.SIGTERM)
        exited = process.wait(grace)
        if not exited:
            self._stack.journal.write(
                "worker.escalated", hostname=self.hostname, pid=process.pid, grace=grace,
                signal="SIGKILL",
            )  # fmt: skip
        # SIGKILL what is left of the group: after a warm exit, stray pool children if any.
        process.kill()
        return exited


class LocalStack(Stack):
    """Every part as a local process; see chaos/stack/base.py for what each handle promises."""

    def __init__(self, config: StackConfig | None = None) -> None:
        self.config = config or StackConfig()
        validate_config(self.config)
        self.run_id = self.config.run_id or new_run_id()
        self.run_dir = run_dir_for(self.config, self.run_id)
        self._broker: LocalBroker | None = None
        self._proxy: BrokerProxy | None = None
        self._workers: list[LocalWorker] = []
        self._journal: JournalWriter | None = None
        self._tail = JournalTail(self.journal_path)
        self._db_path: Path | None = None
        self._registered = False
        self._watchdog: Watchdog | None = None
        self.started_seconds: dict[str, float] = {}
        """How long each start-up step took (the benchmark reads it)."""

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Start every part and wait until each is ready; on any failure stop what started."""
        began = time.monotonic()
        with map_exceptions("stack", f"preparing the run directory {self.run_dir}"):
            reap_stale_runs()
            self.run_dir.mkdir(parents=True, exist_ok=True)
            register_run(self.run_id, self.run_dir)
            self._registered = True
            self._watchdog = Watchdog.start(self.run_id, self.run_dir)  # reaps if we are killed
            self._journal = JournalWriter.for_run_dir(self.run_dir, "stack", self.config.clock)
        try:
            with map_exceptions("stack", "starting the local stack"):
                self._start_parts(began)
        except BaseException:
            self.close()
            raise

    def _start_parts(self, began: float) -> None:
        steps = self.started_seconds
        self._broker = LocalBroker(
            run_dir=self.run_dir,
            run_id=self.run_id,
            persistence=self.config.persistence,
            start_timeout=self.config.start_timeout,
        )
        self._broker.spawn()
        if self.config.settings_module:
            mark = time.monotonic()
            self._db_path = database_for_run(
                Path(self.config.workdir), self.config.settings_module, self.run_dir,
                {**self._base_env(), **self.config.env}, via_env=self.config.database_env,
            )  # fmt: skip
            steps["django_db"] = time.monotonic() - mark
        if self.config.setup:
            mark = time.monotonic()
            (self.run_dir / "logs").mkdir(exist_ok=True)
            run_setup(self.config.setup, Path(self.config.workdir), self.app_env(),
                      self.run_dir / "logs" / "setup.log")  # fmt: skip
            steps["setup"] = time.monotonic() - mark
        self._workers = [self._new_worker(f"worker-{n}") for n in range(1, self.config.workers + 1)]
        for worker in self._workers:
            worker.spawn()
        self._proxy = BrokerProxy(self._broker.port, seed=self.config.seed)
        self._proxy.start()
        self._write_broker_url()
        steps["proxy"] = time.monotonic() - began
        self._broker.wait_ready()
        steps["broker"] = time.monotonic() - began
        self._wait_proxy_ready()
        steps["broker_through_proxy"] = time.monotonic() - began
        for worker in self._workers:
            worker.wait_ready(self._remaining(began))
        steps["workers_ready"] = time.monotonic() - began
        self._write_stack_file()
        mark_stack_up(self.run_dir)  # from now on a (re)started worker meets the broker alone

    @property
    def _broker_url_file(self) -> Path:
        return self.run_dir / "broker-url"

    def _write_broker_url(self) -> None:
        """Tell the workers spawned before the proxy listened where the broker is (by rename:
        a launcher polling the file never reads half of it)."""
        staging = self._broker_url_file.with_suffix(".tmp")
        staging.write_text(self.worker_broker_url + "\n", encoding="utf-8")
        staging.replace(self._broker_url_file)

    def _wait_proxy_ready(self) -> None:
        assert self._proxy is not None
        port = self._proxy.listen_port
        if not poll_until(lambda: redis_ping(LOOPBACK, port), self.config.start_timeout):
            raise StackError(
                "proxy",
                f"Redis did not answer PING through the proxy at {LOOPBACK}:{port} "
                f"(upstream {self._proxy.upstream})",
            )

    def _write_stack_file(self) -> None:
        """Ports and pids for a human looking at the run directory."""
        assert self._broker is not None and self._proxy is not None
        record = {
            "run_id": self.run_id,
            "broker": {"port": self._broker.port, "pid": self._broker.process.pid,
                       "executable": self._broker.executable},
            "proxy": {"api_url": self._proxy.api_url, "listen_port": self._proxy.listen_port},
            "workers": {w.name: {"hostname": w.hostname, "pid": w.pid} for w in self._workers},
        }  # fmt: skip
        (self.run_dir / "stack.json").write_text(json.dumps(record, indent=2))

    def close(self) -> None:
        """Stop everything this stack started (SIGKILL by group: teardown must be quick); the
        watchdog is released once all is stopped, and reaps whatever a failed close left."""
        watchdog, self._watchdog = self._watchdog, None
        with closing_under(watchdog):
            for worker in self._workers:
                worker.kill()
            if self._proxy is not None:
                self._proxy.stop()
            if self._broker is not None:
                self._broker.kill()
            if self._journal is not None:
                self._journal.close()
        if self._registered:
            unregister_run(self.run_id)
            self._registered = False

    # --- what workers get ---------------------------------------------------------------------

    def _base_env(self) -> dict[str, str]:
        # This process's own run variables (if it runs inside another run) must not leak in.
        run_specific = {
            ENV_RUN_DIR, ENV_RUN_ID, ENV_WORKER_NAME, ENV_CELERY_SETTINGS, ENV_BROKER_WAIT,
            ENV_SPAWN_WALL, ENV_BROKER_URL_FILE,
        }  # fmt: skip
        env = {key: value for key, value in os.environ.items() if key not in run_specific}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        env[ENV_RUN_DIR] = str(self.run_dir)
        env[ENV_RUN_ID] = self.run_id
        workdir = str(Path(self.config.workdir).resolve())
        env["PYTHONPATH"] = os.pathsep.join([workdir, *filter(None, [env.get("PYTHONPATH")])])
        if self.config.settings_module:
            env["DJANGO_SETTINGS_MODULE"] = self.config.settings_module
        return env

    def app_env(self) -> dict[str, str]:
        """What every app process gets: the base, the app's own ``env``, the run's database."""
        env = self._base_env()
        env.update(self.config.env)
        if self._db_path is not None and self.config.settings_module:
            env.update(database_env(self.config.settings_module, self._db_path, env,
                                    via_env=self.config.database_env))  # fmt: skip
        return env

    def worker_env(self, name: str) -> dict[str, str]:
        env = self.app_env()
        env[ENV_WORKER_NAME] = name
        listening = self._proxy is not None and self._proxy.handle is not None
        env[ENV_CELERY_SETTINGS] = json.dumps(self.celery_settings(with_broker_url=listening))
        env[ENV_BROKER_WAIT] = str(self.config.start_timeout)
        if listening:
            env["CELERY_BROKER_URL"] = self.worker_broker_url
        else:  # spawned at start, before the proxy listens: the launcher reads it later
            env[ENV_BROKER_URL_FILE] = str(self._broker_url_file)
        return env

    def saw_ready(self, pid: int | None) -> bool:
        """True once the journal holds a worker.ready written by this process."""
        return pid is not None and (
            self._tail.find(lambda e: e.kind == "worker.ready" and e.pid == pid) is not None
        )

    # --- handles ------------------------------------------------------------------------------

    @property
    def broker(self) -> LocalBroker:
        if self._broker is None:
            raise StackError("broker", "not started")
        return self._broker

    @property
    def proxy(self) -> BrokerProxyHandle:
        if self._proxy is None:
            raise StackError("proxy", "not started")
        return self._proxy.handle

    @property
    def proxy_api_url(self) -> str:
        """The proxy server's Toxiproxy API (for clients other than the handle)."""
        if self._proxy is None:
            raise StackError("proxy", "not started")
        return self._proxy.api_url

    def _new_worker(self, name: str) -> LocalWorker:
        return LocalWorker(self, name)

    @property
    def producer_broker_url(self) -> str:
        if self._proxy is None:
            raise StackError("proxy", "not started")
        return f"redis://{LOOPBACK}:{self._proxy.listen_port}/0"

    @property
    def worker_broker_url(self) -> str:
        return self.producer_broker_url
