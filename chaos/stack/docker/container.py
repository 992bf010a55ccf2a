"""What every container of a docker stack shares: run labels, loopback-only ports, lifecycle verbs.

Testcontainers' ``stop()`` removes a container; a chaos stack also needs to kill, stop, pause and
start the *same* container again (same name, network alias and volume), so those verbs live here
under their Docker names.
"""

from __future__ import annotations

from typing import Any

from docker.errors import APIError, NotFound
from testcontainers.core.container import DockerContainer
from testcontainers.core.network import Network

from chaos.errors import StackError
from chaos.stack.docker.engine import publish_host
from chaos.stack.docker.labels import run_labels


class ChaosContainer(DockerContainer):
    """A DockerContainer labelled with its run, publishing only on loopback, never privileged."""

    role = "container"

    def __init__(self, image: str, **kwargs: Any) -> None:
        super().__init__(image, **kwargs)
        self._kwargs.setdefault("labels", {})
        self._kwargs["privileged"] = False
        self._mapped_ports: dict[int, int] = {}

    def with_run(self, run_id: str) -> ChaosContainer:
        """Label the container with the run (and this process as its owner, for reaping)."""
        self._kwargs["labels"] = {**self._kwargs.get("labels", {}), **run_labels(run_id, self.role)}
        return self

    def with_published_port(self, container_port: int) -> ChaosContainer:
        """Publish on the engine host's loopback (Docker's default would be every interface)."""
        self.ports[f"{container_port}/tcp"] = (publish_host(), None)  # type: ignore[assignment]
        return self

    def with_private_network(self, network: Network, *aliases: str) -> ChaosContainer:
        self.with_network(network)
        if aliases:
            self.with_network_aliases(*aliases)
        return self

    def mapped_port(self, container_port: int) -> int:
        """Host port published for ``container_port``; asked once per start of the container
        (``docker start`` may publish it elsewhere), since the runner reads URLs in loops."""
        cached = self._mapped_ports.get(container_port)
        if cached is not None:
            return cached
        mappings = self.get_docker_client().client.api.port(self.get_container_id(), container_port)
        if not mappings:
            raise StackError(self.role, f"port {container_port} is not published (is it running?)")
        self._mapped_ports[container_port] = int(mappings[0]["HostPort"])
        return self._mapped_ports[container_port]

    # -- lifecycle of the same container ----------------------------------------------------------

    def _docker_call(self, verb: str, action: Any, *args: Any, **kwargs: Any) -> None:
        try:
            action(*args, **kwargs)
        except APIError as exc:
            raise StackError(self.role, f"docker {verb} failed: {exc.explanation or exc}") from exc

    def kill(self) -> None:
        """``docker kill``: SIGKILL to the container's init, which takes every process with it."""
        if self.is_running():
            self._docker_call("kill", self.get_wrapped_container().kill)

    def stop_gracefully(self, timeout: float = 10.0) -> bool:
        """``docker stop``: SIGTERM, SIGKILL after ``timeout``. True if it exited by itself."""
        if not self.is_running():
            return True
        self._docker_call("stop", self.get_wrapped_container().stop, timeout=max(1, round(timeout)))
        return self.exit_code() not in (137, None)

    def pause(self) -> None:
        """``docker pause`` (cgroup freezer): processes stop, the kernel still accepts TCP."""
        self._docker_call("pause", self.get_wrapped_container().pause)

    def unpause(self) -> None:
        self._docker_call("unpause", self.get_wrapped_container().unpause)

    def start_again(self) -> None:
        """``docker start`` of the stopped container: same name, alias, volume and labels."""
        self._mapped_ports.clear()
        self._docker_call("start", self.get_wrapped_container().start)

    def state(self) -> dict[str, Any]:
        """Docker's State of the container (empty when it is gone)."""
        try:
            container = self.get_wrapped_container()
            container.reload()
        except (NotFound, AttributeError):
            return {}
        return dict(container.attrs.get("State") or {})

    def is_running(self) -> bool:
        return bool(self.state().get("Running"))

    def is_paused(self) -> bool:
        return bool(self.state().get("Paused"))

    def exit_code(self) -> int | None:
        state = self.state()
        if not state or state.get("Running"):
            return None
        return int(state.get("ExitCode", 0))

    def host_pid(self) -> int | None:
        pid = int(self.state().get("Pid") or 0)
        return pid or None

    def logs_text(self, tail: int | str = "all") -> str:
        try:
            return self.get_wrapped_container().logs(tail=tail).decode(errors="replace")
        except (APIError, AttributeError):
            return ""

    def remove(self) -> None:
        """Remove the container and its anonymous volumes (Testcontainers' stop)."""
        try:
            self.stop(force=True, delete_volume=True)
        except NotFound:
            pass
