"""The fault proxy in front of the local Redis, driven only through its Toxiproxy HTTP API."""

from __future__ import annotations

from typing import Any

from chaos.errors import ChaosError, StackError
from chaos.stack.local.ports import LOOPBACK

BROKER_PROXY_NAME = "redis"


class BrokerProxy:
    """A proxy server and the one proxy it runs for the broker (``redis``)."""

    def __init__(self, upstream_port: int, *, seed: int | None = None) -> None:
        self.upstream = f"{LOOPBACK}:{upstream_port}"
        self.seed = seed
        self.server: Any = None
        self.handle: Any = None

    def start(self) -> None:
        try:
            from chaos.proxy import ProxyServer, ToxiproxyClient
        except ImportError:
            try:
                from chaos.proxy.client import ToxiproxyClient
                from chaos.proxy.server import ProxyServer
            except ImportError as exc:
                raise StackError("proxy", f"the fault proxy is not importable: {exc}") from exc
        try:
            # Thread mode: the proxy lives and dies with the stack's owner, so a kill -9 of the
            # runner leaves no proxy behind, and no interpreter start-up is paid for it.
            self.server = ProxyServer(LOOPBACK, 0, seed=self.seed, mode="thread").start()
            client = ToxiproxyClient(self.server.api_url)
            self.handle = client.create_proxy(
                BROKER_PROXY_NAME, upstream=self.upstream, listen=f"{LOOPBACK}:0"
            )
        except (ChaosError, OSError) as exc:
            self.stop()
            raise StackError("proxy", f"the fault proxy did not start: {exc}") from exc

    @property
    def api_url(self) -> str:
        return str(self.server.api_url)

    @property
    def listen_port(self) -> int:
        return int(self.handle.listen_port)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
