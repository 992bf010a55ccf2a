"""``DockerStack``: the stack interface on containers (Redis, the fault proxy, the app's workers).

One private Docker network per run. Workers reach Redis only through the proxy, by its network
alias; a producer on the host reaches the same proxy on a port published on the engine's host
(TC_HOST or DOCKER_HOST's host; 127.0.0.1 for a local engine), and the producer of an app with a
database runs in a container beside the workers (``start_producer``), its database in the run's
app-data volume (chaos.stack.docker.app_volume). Redis keeps its data in a named
volume, so a killed and restarted broker comes back at the same alias with what its persistence
setting saved. Workers share no folder with the runner for the journal and the failpoints: they
reach the runner's run service (chaos.stack.docker.run_service). Every container, the network and
the volumes carry the run id as a label; ``close()`` removes them by that label through
``reap_docker``, the function the run's watchdog (chaos.stack.watchdog) calls when the runner
is killed instead.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from testcontainers.core.network import Network

from chaos.errors import StackError, map_exceptions
from chaos.journal import ENV_RUN_DIR, ENV_RUN_ID, JournalWriter
from chaos.probe import ENV_WORKER_NAME
from chaos.run_channel import ENV_RUN_SERVICE
from chaos.stack._config import new_run_id, run_dir_for, validate_config
from chaos.stack._journal_tail import JournalTail
from chaos.stack._ping import redis_ping
from chaos.stack._redis_config import reconfigure_redis
from chaos.stack._waiting import poll_until
from chaos.stack.base import (
    BrokerHandle,
    BrokerProxyHandle,
    Stack,
    StackConfig,
    WorkerHandle,
)
from chaos.stack.docker.app_volume import AppDataVolume
from chaos.stack.docker.app_world import RUN_DATABASE_FILE, app_world_env, prepare_app_world
from chaos.stack.docker.dilation import app_wall, dilated_worker_env
from chaos.stack.docker.engine import engine_client
from chaos.stack.docker.host_relay import HostLoopbackRelay
from chaos.stack.docker.images import (
    BuiltImages,
    ProxyImage,
    ProxyImageChoice,
    print_builds_only,
)
from chaos.stack.docker.labels import run_labels
from chaos.stack.docker.producer import start_producer
from chaos.stack.docker.reaping import STARTUP_REAP_MIN_AGE, not_removed, reap_docker
from chaos.stack.docker.run_service import RunService, runner_address
from chaos.stack.docker.redis_container import (
    REDIS_PORT,
    NetworkHolderContainer,
    RedisBrokerContainer,
)
from chaos.stack.docker.toxiproxy_container import FIRST_PROXY_PORT, ToxiproxyContainer
from chaos.stack.docker.worker_container import RUN_DIR_IN_CONTAINER, CeleryWorkerContainer
from chaos.stack.launch import ENV_BROKER_WAIT, mark_stack_up
from chaos.stack.shape import worker_shape
from chaos.stack.watchdog import Watchdog, closing_under

#: auto | toxiproxy | own, for stacks opened without saying (``chaos run --backend docker``).
ENV_PROXY_IMAGE = "CHAOS_DOCKER_PROXY_IMAGE"
REDIS_ALIAS = "redis"
PROXY_ALIAS = "toxiproxy"
BROKER_PROXY_NAME = "redis"
#: The broker's proxy listens here inside the proxy container (workers dial it by alias).
BROKER_PROXY_PORT = FIRST_PROXY_PORT


class DockerBroker(BrokerHandle):
    """The Redis container: kill is ``docker kill``, a hung broker is ``docker pause``."""

    def __init__(self, container: RedisBrokerContainer, start_timeout: float) -> None:
        self.container = container
        self.start_timeout = start_timeout

    def kill(self) -> None:
        self.container.kill()

    def stop(self, timeout: float = 10.0) -> None:
        self.container.stop_gracefully(timeout)

    def pause(self) -> None:
        self.container.pause()

    def resume(self) -> None:
        self.container.unpause()

    def start(self) -> None:
        if self.container.is_paused():
            self.container.unpause()
        elif not self.container.is_running():
            self.container.start_again()
        self.container.wait_ready(self.start_timeout)

    def is_running(self) -> bool:
        return self.container.is_running()

    def reconfigure(self, settings: Mapping[str, str]) -> dict[str, str]:
        """CONFIG SET through the container's published port (not the proxy container)."""
        return reconfigure_redis(self.container.get_container_host_ip(),
                                 self.container.get_host_port(), settings)  # fmt: skip

    @property
    def paused(self) -> bool:
        return self.container.is_paused()

    @property
    def direct_url(self) -> str:
        return self.container.get_direct_url()


class DockerWorker(WorkerHandle):
    """One worker container; ``start`` after a kill starts the same container again."""

    def __init__(self, stack: DockerStack, name: str) -> None:
        self.name = name
        self._stack = stack
        self.container = stack.new_worker_container(name, self.hostname)
        self._created = False
        self._started_wall = 0.0

    @property
    def hostname(self) -> str:
        return f"{self.name}@{self._stack.run_id}"

    @property
    def is_created(self) -> bool:
        return self._created

    @property
    def pid(self) -> int | None:
        """Host pid of the container's init (docker-init), None when it is not running."""
        return self.container.host_pid() if self._created else None

    def spawn(self) -> None:
        """Start the container without waiting for the worker to be ready."""
        # On the workers' clock (the app's, when dilated): their worker.ready is compared with it.
        self._started_wall = app_wall(self._stack.config.clock)
        if not self._created:
            self.container.start()
            self._created = True
        elif not self.container.is_running():
            self.container.start_again()

    def start(self) -> None:
        self.spawn()
        self.wait_ready(self._stack.config.start_timeout)

    def wait_ready(self, timeout: float = 30.0) -> None:
        since = self._started_wall
        state_checked = [0.0]

        def ready() -> bool:
            if self._stack.saw_ready(self.hostname, since):
                return True
            # The container's state at most twice a second: API calls cost dockerd CPU.
            if time.monotonic() - state_checked[0] >= 0.5:
                state_checked[0] = time.monotonic()
                code = self.container.exit_code()
                if code is not None:
                    raise StackError(
                        self.name,
                        f"the worker container exited with code {code} before it was ready",
                        log_tail=self.container.logs_text(tail=40),
                    )
            return False

        if not poll_until(ready, timeout):
            raise StackError(
                self.name,
                f"celery worker not ready within {timeout:.0f} s (no worker.ready in the journal)",
                log_tail=self.container.logs_text(tail=40),
            )

    def is_alive(self) -> bool:
        return self._created and self.container.is_running()

    def kill(self) -> None:
        if self._created:
            self.container.kill()

    def kill_pool_process(self, pid: int) -> None:
        """``pid`` is in the container's namespace, as the probe journals it from inside."""
        if not self.is_alive():
            raise StackError(self.name, "the worker container is not running")
        # Only a child of the launcher (docker-init's child) is a pool process: checked inside.
        script = (
            "import os, signal, sys\n"
            f"pid = {int(pid)}\n"
            "stat = open(f'/proc/{pid}/stat').read().rpartition(')')[2].split()\n"
            "parent = open(f'/proc/{stat[1]}/stat').read().rpartition(')')[2].split()\n"
            "sys.exit(3) if parent[1] != '1' else os.kill(pid, signal.SIGKILL)\n"
        )
        code, output = self.container.get_wrapped_container().exec_run(["python", "-c", script])
        if code != 0:
            raise StackError(self.name, f"could not kill pool process {pid} (exit {code}): "
                             f"{output.decode(errors='replace')[-300:]}")  # fmt: skip

    def terminate(self, grace: float = 10.0) -> bool:
        if not self.is_alive():
            return True
        exited = self.container.stop_gracefully(grace)
        if not exited:
            self._stack.journal.write(
                "worker.escalated", hostname=self.hostname, pid=None, grace=grace,
                signal="SIGKILL",
            )  # fmt: skip
        return exited

    def remove(self) -> None:
        if self._created:
            self._stack.save_log(self.name, self.container)
            self.container.remove()
            self._created = False


class DockerStack(Stack):
    """Every part as a container; see chaos/stack/base.py for what each handle promises."""

    def __init__(
        self,
        config: StackConfig | None = None,
        *,
        proxy_image: ProxyImageChoice | None = None,
        images: BuiltImages | None = None,
    ) -> None:
        self.config = config or StackConfig()
        validate_config(self.config)
        self.run_id = self.config.run_id or new_run_id()
        self.run_dir = run_dir_for(self.config, self.run_id)
        self.proxy_image_choice: ProxyImageChoice = proxy_image or os.environ.get(  # type: ignore[assignment]
            ENV_PROXY_IMAGE, "auto"
        )
        self._images = images
        self._network: Network | None = None
        self._volume: Any = None
        self._app_data: AppDataVolume | None = None
        self._redis: RedisBrokerContainer | None = None
        self._redis_net: NetworkHolderContainer | None = None
        self._broker: DockerBroker | None = None
        self._proxy_container: ToxiproxyContainer | None = None
        self._proxy_handle: BrokerProxyHandle | None = None
        self._workers: list[DockerWorker] = []
        self._journal: JournalWriter | None = None
        self._tail = JournalTail(self.journal_path)
        self._worker_image = ""
        self._relay: HostLoopbackRelay | None = None
        self._service: RunService | None = None
        self._watchdog: Watchdog | None = None
        self._left: list[str] = []  # what a close could not remove: the next close tries again
        self.started_seconds: dict[str, float] = {}
        """How long each start-up step took (the benchmark reads it)."""

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Start every part and wait until each is ready; on any failure remove what started."""
        began = time.monotonic()
        with map_exceptions("docker", "reaping leftovers and preparing the run directory"):
            client = engine_client()
            # Leftovers of runners that died (owner gone), once their watchdog had its chance.
            reap_docker(client=client, min_age=STARTUP_REAP_MIN_AGE)
            self.run_dir.mkdir(parents=True, exist_ok=True)
            # Reaps this run's containers, network and volume if this process is killed.
            self._watchdog = Watchdog.start(self.run_id, self.run_dir, docker=True)
            self._journal = JournalWriter.for_run_dir(self.run_dir, "stack", self.config.clock)
        try:
            with map_exceptions("docker", "starting the docker stack"):
                self._start_parts(began)
        except BaseException as exc:
            try:
                self.close()
            except StackError as leak:  # the start's failure stays the error; the leak is told
                exc.add_note(str(leak))
            raise

    def _resolve_images(self) -> tuple[str, ProxyImage, str]:
        if self._images is not None:
            return self._images.redis, self._images.proxy, self._images.worker
        from chaos.stack.docker.image_transfer import builder_for_current_engine

        # On a second engine: what the first engine has is loaded, not built (no debootstrap).
        builder = builder_for_current_engine(progress=print_builds_only)
        return (
            builder.redis(),
            builder.proxy(self.proxy_image_choice),
            builder.worker(Path(self.config.workdir)),
        )

    def _start_parts(self, began: float) -> None:
        steps = self.started_seconds
        client = engine_client()
        redis_image, proxy_image, self._worker_image = self._resolve_images()
        steps["images"] = time.monotonic() - began
        # start_timeout bounds starting and readiness, not building or loading images: a cold
        # second engine loads about 1.7 GB first (36 s measured), which must not eat the budget.
        ready_by = time.monotonic()

        self._network = Network(docker_network_kw={"labels": run_labels(self.run_id, "network")})
        self._network.name = f"chaos-{self.run_id}"
        self._network.create()
        gateway = self._network_gateway()
        # The stubs' relays listen where the run service does (CHAOS_DOCKER_RUNNER_ADDRESS).
        self._relay = HostLoopbackRelay(runner_address(gateway))
        # Where the workers journal, read failpoint plans and count hits: no shared folder.
        self._service = RunService.for_gateway(self.run_dir, gateway)
        self._volume = client.volumes.create(
            name=f"chaos-{self.run_id}-redis", labels=run_labels(self.run_id, "volume")
        )
        self._redis_net = NetworkHolderContainer(redis_image).with_name(
            f"chaos-{self.run_id}-redis-net"
        )
        self._redis_net.with_run(self.run_id).with_private_network(self._network, REDIS_ALIAS)
        self._redis = (
            RedisBrokerContainer(
                redis_image, persistence=self.config.persistence, network_holder=self._redis_net
            )
            .with_data_volume(self._volume.name)
            .with_name(f"chaos-{self.run_id}-redis")
        )
        self._redis.with_run(self.run_id)
        self._broker = DockerBroker(self._redis, self.config.start_timeout)
        self._proxy_container = (
            ToxiproxyContainer(proxy_image.tag, flavour=proxy_image.flavour, proxy_ports=1)
            .with_proxy(BROKER_PROXY_NAME, f"{REDIS_ALIAS}:{REDIS_PORT}", BROKER_PROXY_PORT)
            .with_seed(self.config.seed)
            .with_name(f"chaos-{self.run_id}-proxy")
        )
        self._proxy_container.with_run(self.run_id).with_private_network(self._network, PROXY_ALIAS)

        prepare_app_world(self.config, self.run_dir, self.run_id, steps)  # database, app.setup
        if self.config.settings_module:  # the database goes to the engine, in a volume
            self._app_data = AppDataVolume(client, self.run_id, self._worker_image)
            self._app_data.upload(self.run_dir / RUN_DATABASE_FILE)
        self._workers = [self._new_worker(f"worker-{n}") for n in range(1, self.config.workers + 1)]

        # Containers start in parallel: the launcher in each worker waits for the broker's PING
        # through the proxy, so the workers' imports overlap Redis and the proxy coming up.
        with ThreadPoolExecutor(max_workers=2 + len(self._workers)) as pool:
            started = [pool.submit(self._start_redis), pool.submit(self._proxy_container.start)]
            started += [pool.submit(worker.spawn) for worker in self._workers]
            for future in started:
                future.result()
        steps["containers_started"] = time.monotonic() - began

        self._proxy_container.wait_ready(self._remaining(ready_by))
        self._proxy_handle = self._proxy_container.get_proxy(BROKER_PROXY_NAME)
        steps["proxy"] = time.monotonic() - began
        self._redis.wait_ready(self._remaining(ready_by))
        steps["broker"] = time.monotonic() - began
        self._wait_proxy_passes()
        steps["broker_through_proxy"] = time.monotonic() - began
        for worker in self._workers:
            worker.wait_ready(self._remaining(ready_by))
        steps["workers_ready"] = time.monotonic() - began
        self._write_stack_file()
        mark_stack_up(self.run_dir)  # from now on a (re)started worker meets the broker alone

    def _start_redis(self) -> None:
        assert self._redis_net is not None and self._redis is not None
        self._redis_net.start()
        self._redis.start()

    def _network_gateway(self) -> str:
        """The host's address on the stack's network (where host services are relayed)."""
        assert self._network is not None and self._network._network is not None
        network = self._network._network
        network.reload()
        for pool in network.attrs.get("IPAM", {}).get("Config") or []:
            if pool.get("Gateway"):
                return str(pool["Gateway"])
        raise StackError("network", f"the network {self._network.name} has no gateway address")

    def _wait_proxy_passes(self) -> None:
        assert self._proxy_container is not None
        port = self._proxy_container.get_proxy_host_port(BROKER_PROXY_NAME)
        # The engine's host as Testcontainers reaches it (TC_HOST, DOCKER_HOST's host): a remote
        # engine publishes its ports there, not on this machine's loopback.
        host = self._proxy_container.get_container_host_ip()
        if not poll_until(lambda: redis_ping(host, port), self.config.start_timeout):
            raise StackError(
                "proxy",
                f"Redis did not answer PING through the proxy at {host}:{port} "
                f"(upstream {REDIS_ALIAS}:{REDIS_PORT})",
                log_tail=self._proxy_container.logs_text(tail=40),
            )

    def _write_stack_file(self) -> None:
        """Names and ports for a human looking at the run directory."""
        assert self._redis is not None and self._proxy_container is not None
        record = {
            "run_id": self.run_id,
            "backend": "docker",
            "network": self._network.name if self._network else None,
            "run_service": self._service.address if self._service else None,
            "broker": {"container": f"chaos-{self.run_id}-redis", "direct_url": self.broker.direct_url},
            "proxy": {"api_url": self.proxy_api_url, "producer_url": self.producer_broker_url,
                      "worker_url": self.worker_broker_url,
                      "flavour": self._proxy_container.flavour},
            "workers": {w.name: {"hostname": w.hostname, "image": self._worker_image}
                        for w in self._workers},
        }  # fmt: skip
        (self.run_dir / "stack.json").write_text(json.dumps(record, indent=2))

    def save_log(self, name: str, container: Any) -> None:
        """Keep a container's log in the run directory before the container goes."""
        text = container.logs_text()
        if text:
            logs = self.run_dir / "logs"
            logs.mkdir(parents=True, exist_ok=True)
            (logs / f"{name}.log").write_text(text)

    def close(self) -> None:
        """Keep each container's log, then remove every part by the run's label (reap_docker:
        the one function the watchdog uses too); the watchdog is released once all is gone and
        reaps whatever a failed close left."""
        watchdog, self._watchdog = self._watchdog, None
        left, self._left = self._left, []
        not_fetched: str | None = None
        with closing_under(watchdog):  # raising abandons the watchdog: it tries once more
            try:
                self._save_logs()  # a log that cannot be kept (disk full) still lets parts go
                not_fetched = self._fetch_at_close()  # the database as the containers left it
            finally:
                self._workers = []
                self._app_data = None
                self._proxy_container = self._redis = self._redis_net = None
                self._network = self._volume = None
                if watchdog is not None or self._journal is not None or left:  # labelled parts
                    with map_exceptions("docker", f"removing the parts of run {self.run_id}"):
                        left = self._left = not_removed(reap_docker(self.run_id))
            if self._relay is not None:
                self._relay.stop()
                self._relay = None
            if self._service is not None:  # after the containers: none writes any more
                self._service.stop()
                self._service = None
            if self._journal is not None:
                self._journal.close()
                self._journal = None
            if left:
                # As a Testcontainers container whose removal fails: the error reaches the
                # caller (chaos run exits 3, a pytest fixture's teardown errors), never silence.
                raise StackError(
                    "docker", "close() left parts of the run behind: " + "; ".join(left),
                    hint=f"its watchdog tries again; chaos clean --run {self.run_id} removes them",
                )  # fmt: skip
            if not_fetched:  # everything is closed: now say what the run directory lacks
                raise StackError("app-data", not_fetched)

    def _fetch_at_close(self) -> str | None:
        """Copy the database back once the run is over; why it could not be (None: copied, or
        no database was put on the engine). Never raises: close must still remove every part."""
        if self._app_data is None or not self._app_data.uploaded:
            return None
        try:
            self.fetch_app_data()
        except StackError as exc:
            return f"the app's database was not copied back to {self.run_dir}: {exc}"
        return None

    def _save_logs(self) -> None:
        named = [(worker.name, worker.container) for worker in self._workers if worker.is_created]
        named += [(name, container) for name, container in
                  (("proxy", self._proxy_container), ("redis", self._redis))
                  if container is not None and container._container is not None]  # fmt: skip
        with ThreadPoolExecutor(max_workers=max(1, len(named))) as pool:
            for future in [pool.submit(self.save_log, name, c) for name, c in named]:
                future.result()

    # --- what workers get ---------------------------------------------------------------------

    def new_worker_container(self, name: str, hostname: str) -> CeleryWorkerContainer:
        if self._network is None:
            raise StackError(name, "the stack is not started")
        assert self._service is not None
        container = (
            CeleryWorkerContainer(self._worker_image, app=self.config.app, hostname=hostname)
            .with_run_service(self.run_id, self._service.address)
            .with_shape(worker_shape(self.config, name))
            .with_celery_settings(self.celery_settings())
            .with_name(f"chaos-{self.run_id}-{name}")
        )
        container.with_private_network(self._network)
        if self._app_data is not None:
            container.with_app_data(self._app_data.name)  # the app's database (a volume)
        env = {
            **self._app_env(),
            ENV_WORKER_NAME: name,
            ENV_BROKER_WAIT: str(self.config.start_timeout),
            "CELERY_BROKER_URL": self.worker_broker_url,
        }
        env, prefix = dilated_worker_env(self.config.clock, env)
        container.with_envs(**env)
        return container.with_command_prefix(prefix)

    def _app_env(self) -> dict[str, str]:
        """What every app process on the engine gets: ``app.env`` (stub endpoints relayed) and
        the route to the run's database."""
        assert self._relay is not None
        return {**self._relay.rewrite(self.config.env), **app_world_env(self.config)}

    # --- the producer, where the database is --------------------------------------------------

    @classmethod
    def producer_on_engine(cls, config: StackConfig) -> bool:
        """An app with a database: its producer shares the database with the workers, which
        lives on the engine (chaos.stack.docker.app_volume)."""
        return bool(config.settings_module)

    def start_producer(self, command: list[str], env: Mapping[str, str], log_path: Path) -> Any:
        """``command`` (the workload) in a container beside the workers, with the run's database,
        journaling through the run service; a ``Popen``-like handle (stdin, stdout), its stderr
        in ``log_path``."""
        if self._network is None or self._service is None:
            raise StackError("producer", "the stack is not started")
        run = {ENV_RUN_DIR: RUN_DIR_IN_CONTAINER, ENV_RUN_ID: self.run_id,
               ENV_RUN_SERVICE: self._service.address}  # fmt: skip
        full, prefix = dilated_worker_env(self.config.clock, {**env, **self._app_env(), **run})
        with map_exceptions("docker", "starting the producer container"):
            return start_producer(
                engine_client(), image=self._worker_image, run_id=self.run_id,
                network=str(self._network.name), volumes=self._app_volumes(),
                command=[*prefix, *command], env=full, log_path=log_path,
            )  # fmt: skip

    def _app_volumes(self) -> dict[str, dict[str, str]]:
        return self._app_data.mount() if self._app_data is not None else {}

    def fetch_app_data(self) -> None:
        """Copy the app's database from the engine to ``RUN_DIR/db.sqlite3`` (no-op without
        one): what the runner reads the stored results from, and what the run directory keeps."""
        if self._app_data is not None:
            with map_exceptions("docker", "copying the app's database from the engine"):
                self._app_data.fetch(self.run_dir / RUN_DATABASE_FILE)

    def saw_ready(self, hostname: str, since_wall: float) -> bool:
        """True once the journal holds a worker.ready from ``hostname`` written after ``since``."""
        return (
            self._tail.find(
                lambda e: e.kind == "worker.ready"
                and e.data.get("hostname") == hostname
                # One clock in containers and host (the app's when dilated): no slack, so an
                # earlier life's worker.ready never counts for a restart.
                and e.wall >= since_wall
            )
            is not None
        )

    # --- handles ------------------------------------------------------------------------------

    @property
    def broker(self) -> DockerBroker:
        if self._broker is None:
            raise StackError("broker", "not started")
        return self._broker

    @property
    def proxy(self) -> BrokerProxyHandle:
        if self._proxy_handle is None:
            raise StackError("proxy", "not started")
        return self._proxy_handle

    @property
    def proxy_container(self) -> ToxiproxyContainer:
        if self._proxy_container is None:
            raise StackError("proxy", "not started")
        return self._proxy_container

    @property
    def proxy_api_url(self) -> str:
        """The proxy server's Toxiproxy API on 127.0.0.1 (for clients other than the handle)."""
        return self.proxy_container.get_api_url()

    def _new_worker(self, name: str) -> DockerWorker:
        return DockerWorker(self, name)

    def _retire_worker(self, worker: DockerWorker) -> None:  # type: ignore[override]
        worker.terminate()
        worker.remove()

    @property
    def producer_broker_url(self) -> str:
        port = self.proxy_container.get_proxy_host_port(BROKER_PROXY_NAME)
        return f"redis://{self.proxy_container.get_container_host_ip()}:{port}/0"

    @property
    def worker_broker_url(self) -> str:
        return f"redis://{PROXY_ALIAS}:{BROKER_PROXY_PORT}/0"
