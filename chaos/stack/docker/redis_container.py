"""``RedisBrokerContainer``: the Redis server under test, with its data in a named volume.

The volume outlives ``docker kill`` and ``docker start``, so a restarted broker finds what its
persistence setting saved, at the same network alias, as a restarted Redis would in production.
"""

from __future__ import annotations

from typing import Any

from chaos.errors import StackError
from chaos.stack._ping import redis_ping
from chaos.stack._waiting import poll_until
from chaos.stack.base import Persistence
from chaos.stack.docker.container import ChaosContainer

REDIS_PORT = 6379

PERSISTENCE_ARGS: dict[str, list[str]] = {
    "none": ["--save", "", "--appendonly", "no"],
    "everysec": ["--save", "", "--appendonly", "yes", "--appendfsync", "everysec"],
    "always": ["--save", "", "--appendonly", "yes", "--appendfsync", "always"],
}


class NetworkHolderContainer(ChaosContainer):
    """Holds the network namespace Redis runs in: its address, alias and published port.

    Killing a container tears its network namespace down, so packets to its address vanish and
    a client's connect hangs until the kernel gives up (a crashed *host*). A broker kill means a
    crashed *process*: connects refused at once. With the namespace held here, ``docker kill`` of
    the Redis container is exactly that, and a restarted Redis keeps its address.
    """

    role = "redis-net"

    def __init__(self, image: str, **kwargs: Any) -> None:
        super().__init__(image, **kwargs)
        self.with_command(["sleep", "infinity"])
        self._kwargs["init"] = True  # so that docker stop and removal need no 10 s grace
        self.with_published_port(REDIS_PORT)


class RedisBrokerContainer(ChaosContainer):
    """Redis reachable on the private network as ``alias:6379`` and on 127.0.0.1 for inspection.

    Given a ``network_holder``, it runs in that container's network namespace (the holder has
    the alias and the published port); without one, it is on its own network endpoint.
    """

    role = "redis"

    def __init__(
        self,
        image: str,
        *,
        persistence: Persistence = "none",
        network_holder: NetworkHolderContainer | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(image, **kwargs)
        self.persistence: Persistence = persistence
        self.network_holder = network_holder
        if network_holder is None:
            self.with_published_port(REDIS_PORT)

    def with_data_volume(self, volume_name: str) -> RedisBrokerContainer:
        """Keep /data in a named volume (created by the caller, labelled with the run)."""
        self.volumes[volume_name] = {"bind": "/data", "mode": "rw"}
        return self

    def _configure(self) -> None:
        if self.network_holder is not None:
            self._kwargs["network_mode"] = f"container:{self.network_holder.get_container_id()}"
        self.with_command(
            ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--dir", "/data",
             *PERSISTENCE_ARGS[self.persistence]]
        )

    def get_host_port(self) -> int:
        if self.network_holder is not None:
            return self.network_holder.mapped_port(REDIS_PORT)
        return self.mapped_port(REDIS_PORT)

    def get_direct_url(self, db: int = 0) -> str:
        """redis:// on the host, bypassing the proxy: for the stack's own inspection."""
        return f"redis://{self.get_container_host_ip()}:{self.get_host_port()}/{db}"

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Until Redis answers PING on its published port; StackError with its log otherwise."""

        host_port: list[int] = []

        def answers() -> bool:
            # Ping first: Docker API calls cost dockerd CPU that the starting containers need.
            if host_port and redis_ping(self.get_container_host_ip(), host_port[0]):
                return True
            if not self.is_running():
                raise StackError(
                    "redis", "the Redis container exited", log_tail=self.logs_text(tail=40)
                )
            if not host_port:
                host_port.append(self.get_host_port())
            return False

        if not poll_until(answers, timeout):
            raise StackError(
                "redis",
                f"Redis did not answer PING within {timeout:.0f} s",
                log_tail=self.logs_text(tail=40),
            )
