"""Letting worker containers reach services that listen on the host's loopback.

A scenario's stub endpoints (the carrier, the warehouse) listen on 127.0.0.1 and reach the workers
as URLs in their environment; inside a container 127.0.0.1 is the container itself. The project's
own proxy, run in this process, listens on the stack network's gateway address (the host's side of
the project's own Docker network, so nothing listens anywhere else), or on
``CHAOS_DOCKER_RUNNER_ADDRESS`` as the run service does (an engine on another machine), and
forwards to the loopback port; the URL the workers get names that address instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from chaos.errors import ChaosError, StackError

LOOPBACK_NAMES = ("127.0.0.1", "localhost")


def loopback_urls(env: Mapping[str, str]) -> dict[str, tuple[str, int]]:
    """Variables whose value is a URL to a port on the host's loopback: name -> (url, port)."""
    found = {}
    for name, value in env.items():
        if "://" not in value:
            continue
        try:
            parts = urlsplit(value)
            port = parts.port
        except ValueError:
            continue
        if parts.hostname in LOOPBACK_NAMES and port:
            found[name] = (value, port)
    return found


class HostLoopbackRelay:
    """Forwards ``gateway:N`` to ``127.0.0.1:port`` for each loopback URL a worker is given."""

    def __init__(self, gateway_ip: str) -> None:
        self.gateway_ip = gateway_ip
        self._server: Any = None
        self._client: Any = None
        self._listen_ports: dict[int, int] = {}

    def rewrite(self, env: Mapping[str, str]) -> dict[str, str]:
        """``env`` with each loopback URL pointed at the relay (started on first need)."""
        rewritten = dict(env)
        for name, (url, port) in loopback_urls(env).items():
            parts = urlsplit(url)
            netloc = f"{self.gateway_ip}:{self._relay_port(port)}"
            if parts.username or parts.password:
                netloc = f"{parts.netloc.rpartition('@')[0]}@{netloc}"
            rewritten[name] = urlunsplit(parts._replace(netloc=netloc))
        return rewritten

    def _relay_port(self, port: int) -> int:
        if port in self._listen_ports:
            return self._listen_ports[port]
        try:
            if self._server is None:
                from chaos.proxy import ToxiproxyClient
                from chaos.proxy.server import ProxyServer

                # API on loopback; only the relays listen on the gateway (allow_remote permits it).
                self._server = ProxyServer("127.0.0.1", 0, allow_remote=True).start()
                self._client = ToxiproxyClient(self._server.api_url)
            handle = self._client.create_proxy(
                f"host-{port}", upstream=f"127.0.0.1:{port}", listen=f"{self.gateway_ip}:0"
            )
        except (ChaosError, OSError) as exc:
            raise StackError(
                "host relay",
                f"cannot relay 127.0.0.1:{port} to the containers on {self.gateway_ip}: {exc}",
            ) from exc
        self._listen_ports[port] = int(handle.listen_port)
        return self._listen_ports[port]

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
