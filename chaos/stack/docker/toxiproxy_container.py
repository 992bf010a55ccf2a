"""``ToxiproxyContainer``: a Toxiproxy server in a container, the Python counterpart of the Java,
Go and .NET Testcontainers modules.

It serves the real ``ghcr.io/shopify/toxiproxy`` image or the project's own compatible proxy
(``python -m chaos proxy``): both speak Toxiproxy's HTTP API on 8474. Proxies listen on fixed
container ports from ``FIRST_PROXY_PORT`` on, each published on 127.0.0.1 for clients on the host;
containers on the same network reach them by the container's network alias.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from chaos.errors import ConfigError, Problem, StackError
from chaos.stack._waiting import poll_until
from chaos.stack.docker.container import ChaosContainer
from chaos.stack.docker.images import ProxyFlavour

CONTROL_PORT = 8474
#: Same range as the Java and Go modules: 32 proxies per container.
FIRST_PROXY_PORT = 8666
#: Where the declared proxies' config file is copied before the server starts.
CONFIG_PATH = "/tmp/chaos-proxies.json"
PROXY_PORT_COUNT = 32


class ToxiproxyContainer(ChaosContainer):
    """A Toxiproxy API with named proxies; ``get_client()`` is a ready ``chaos.proxy`` client."""

    role = "proxy"

    def __init__(
        self, image: str, *, flavour: ProxyFlavour = "own", proxy_ports: int = 4, **kwargs: Any
    ) -> None:
        super().__init__(image, **kwargs)
        if not 1 <= proxy_ports <= PROXY_PORT_COUNT:
            raise ConfigError([Problem("proxy port count out of range", field_path="proxy_ports",
                                       given=str(proxy_ports),
                                       expected=f"1..{PROXY_PORT_COUNT}")])  # fmt: skip
        self.flavour = flavour
        self.with_published_port(CONTROL_PORT)
        self.proxy_ports = [FIRST_PROXY_PORT + offset for offset in range(proxy_ports)]
        for port in self.proxy_ports:
            self.with_published_port(port)
        self._proxies: dict[str, Any] = {}
        self._listen_ports: dict[str, int] = {}
        self._declared: list[dict[str, Any]] = []
        self._seed: int | None = None

    def with_proxy(self, name: str, upstream: str, listen_port: int | None = None) -> ToxiproxyContainer:
        """Declare a proxy the server creates as it starts (its ``-config`` file), so that it
        listens as soon as the server runs, with no API round trip on the start's critical path."""
        port = self._claim_port(name, listen_port)
        self._declared.append(
            {"name": name, "listen": f"0.0.0.0:{port}", "upstream": upstream, "enabled": True}
        )
        return self

    def with_seed(self, seed: int) -> ToxiproxyContainer:
        """Seed the project's own proxy's random draws (toxicity, jitter); the real Toxiproxy
        has no seed, so its draws stay its own."""
        self._seed = seed
        return self

    def _configure(self) -> None:
        options = []
        if self._declared:
            self.with_copy_into_container(json.dumps(self._declared).encode(), CONFIG_PATH)
            options.append(("config", CONFIG_PATH))
        if self.flavour == "toxiproxy":
            # The real image's entrypoint is /toxiproxy; it binds its API to 0.0.0.0 only if told.
            self.with_command(["-host=0.0.0.0", *[f"-{key}={value}" for key, value in options]])
            return
        if self._seed is not None:
            options.append(("seed", str(self._seed)))
        self.with_command(
            ["python", "-m", "chaos.stack.docker.proxy_main", "--host", "0.0.0.0",
             "--port", str(CONTROL_PORT), "--allow-remote",
             *[part for key, value in options for part in (f"--{key}", value)]]
        )

    def _claim_port(self, name: str, listen_port: int | None) -> int:
        if name in self._listen_ports:
            raise StackError("proxy", f"a proxy called {name!r} exists already")
        free = [port for port in self.proxy_ports if port not in self._listen_ports.values()]
        if listen_port is not None:
            if listen_port not in free:
                raise StackError("proxy", f"port {listen_port} is not a free published proxy port")
            free = [listen_port]
        if not free:
            raise StackError("proxy", f"all {len(self.proxy_ports)} published proxy ports are used")
        self._listen_ports[name] = free[0]
        return free[0]

    # -- addresses -------------------------------------------------------------------------------

    def get_api_url(self) -> str:
        """The Toxiproxy API as the host reaches it (127.0.0.1 and the published port)."""
        return f"http://{self.get_container_host_ip()}:{self.mapped_port(CONTROL_PORT)}"

    def get_proxy_host_port(self, name: str) -> int:
        """Host port (on 127.0.0.1) where the proxy called ``name`` is published."""
        return self.mapped_port(self._listen_port(name))

    def get_proxy_container_port(self, name: str) -> int:
        """Port the proxy listens on inside the container (what other containers dial)."""
        return self._listen_port(name)

    def _listen_port(self, name: str) -> int:
        try:
            return self._listen_ports[name]
        except KeyError:
            raise StackError("proxy", f"no proxy called {name!r} in this container") from None

    # -- the API ---------------------------------------------------------------------------------

    def get_client(self) -> Any:
        """A ``chaos.proxy.ToxiproxyClient`` bound to this container's API."""
        from chaos.proxy import ToxiproxyClient

        return ToxiproxyClient(self.get_api_url())

    def create_proxy(self, name: str, upstream: str, listen_port: int | None = None) -> Any:
        """A proxy ``name`` to ``upstream`` (host:port as the container sees it) on
        ``listen_port`` or the next free published port, created now through the API; returns
        its handle (``.toxic(...)``, ``.disable()``, ...)."""
        port = self._claim_port(name, listen_port)
        try:
            handle = self.get_client().create_proxy(name, upstream=upstream, listen=f"0.0.0.0:{port}")
        except BaseException:
            del self._listen_ports[name]
            raise
        self._proxies[name] = handle
        return handle

    def get_proxy(self, name: str) -> Any:
        """The handle of the proxy called ``name`` (declared with ``with_proxy`` or created)."""
        if name not in self._proxies:
            self._listen_port(name)  # a StackError naming it when it was never declared
            self._proxies[name] = self.get_client().get_proxy(name)
        return self._proxies[name]

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Until ``GET /proxies`` answers with every declared proxy; StackError with the container's log otherwise."""

        api_url: list[str] = []

        def answers() -> bool:
            # Ask the API first: Docker API calls cost dockerd CPU that starting containers need.
            if api_url:
                try:
                    with urllib.request.urlopen(f"{api_url[0]}/proxies", timeout=1) as reply:
                        created = json.loads(reply.read() or b"{}")
                        if reply.status == 200 and all(p["name"] in created for p in self._declared):
                            return True
                except (OSError, ValueError, urllib.error.URLError):
                    pass
            if not self.is_running():
                raise StackError(
                    "proxy", "the proxy container exited", log_tail=self.logs_text(tail=40)
                )
            if not api_url:
                api_url.append(self.get_api_url())
            return False

        if not poll_until(answers, timeout):
            raise StackError(
                "proxy",
                f"the Toxiproxy API did not answer within {timeout:.1f} s",
                log_tail=self.logs_text(tail=40),
            )
