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


class RedisBrokerContainer(ChaosContainer):
    """Redis reachable on the private network as ``alias:6379`` and on 127.0.0.1 for inspection."""

    role = "redis"

    def __init__(self, image: str, *, persistence: Persistence = "none", **kwargs: Any) -> None:
        super().__init__(image, **kwargs)
        self.persistence: Persistence = persistence
        self.with_published_port(REDIS_PORT)

    def with_data_volume(self, volume_name: str) -> RedisBrokerContainer:
        """Keep /data in a named volume (created by the caller, labelled with the run)."""
        self.volumes[volume_name] = {"bind": "/data", "mode": "rw"}
        return self

    def _configure(self) -> None:
        self.with_command(
            ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--dir", "/data",
             *PERSISTENCE_ARGS[self.persistence]]
        )

    def get_host_port(self) -> int:
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
