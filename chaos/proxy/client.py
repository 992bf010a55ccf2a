"""A small client of the Toxiproxy HTTP API, and a handle bound to one proxy.

It uses only what Toxiproxy 2.x's API offers, so it drives a real ``toxiproxy-server`` as well
as the project's own. Every refusal raises ``chaos.errors.ProxyError(status, message)``.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from chaos.errors import ConfigError, Problem, ProxyError, StackError


@dataclass(frozen=True)
class ToxicHandle:
    """A toxic as the server reported it when it was added."""

    name: str
    type: str
    stream: str
    toxicity: float
    attributes: dict[str, Any]


class ToxiproxyClient:
    """The API at ``api_url`` (``http://127.0.0.1:8474``)."""

    def __init__(self, api_url: str, *, timeout: float = 10.0) -> None:
        parts = urlsplit(api_url if "://" in api_url else f"http://{api_url}")
        if parts.scheme != "http" or not parts.hostname:
            raise ConfigError([Problem("not a Toxiproxy API address", field_path="api_url",
                                       given=repr(api_url),
                                       expected="http://HOST:PORT, e.g. http://127.0.0.1:8474")])
        self.api_url = f"http://{parts.netloc}"
        self._host = parts.hostname
        self._port = parts.port or 8474
        self.timeout = timeout

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """One API call; the decoded JSON reply (None for 204). ProxyError for a status >= 300."""
        connection = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
        try:
            payload = None if body is None else json.dumps(body).encode()
            headers = {"User-Agent": "chaos-proxy-client", "Content-Type": "application/json"}
            try:
                connection.request(method, path, body=payload, headers=headers)
                response = connection.getresponse()
                raw = response.read()
            except OSError as exc:
                raise StackError(
                    "proxy",
                    f"cannot reach the proxy API at {self.api_url}: {exc}",
                    hint="is the proxy server running?",
                ) from None
        finally:
            connection.close()
        if response.status >= 300:
            message = raw.decode(errors="replace").strip()
            try:
                message = json.loads(raw)["error"]
            except (ValueError, KeyError, TypeError):
                pass
            raise ProxyError(response.status, f"{method} {path}: {message}")
        if not raw:
            return None
        return json.loads(raw)

    def version(self) -> str:
        return str(self.request("GET", "/version")["version"])

    def proxies(self) -> dict[str, ProxyHandle]:
        listing = self.request("GET", "/proxies")
        return {name: ProxyHandle(self, fields) for name, fields in listing.items()}

    def create_proxy(
        self, name: str, upstream: str, listen: str = "127.0.0.1:0", enabled: bool = True
    ) -> ProxyHandle:
        fields = self.request(
            "POST",
            "/proxies",
            {"name": name, "upstream": upstream, "listen": listen, "enabled": enabled},
        )
        return ProxyHandle(self, fields)

    def get_proxy(self, name: str) -> ProxyHandle:
        return ProxyHandle(self, self.request("GET", f"/proxies/{quote(name, safe='')}"))

    def populate(self, proxies: list[dict[str, Any]]) -> list[ProxyHandle]:
        reply = self.request("POST", "/populate", proxies)
        return [ProxyHandle(self, fields) for fields in (reply.get("proxies") or [])]

    def reset(self) -> None:
        self.request("POST", "/reset")


class ProxyHandle:
    """One proxy: its addresses and its toxics. Attributes reflect the last reply seen."""

    def __init__(self, client: ToxiproxyClient, fields: dict[str, Any]) -> None:
        self.client = client
        self._fields = fields

    def _refresh(self, fields: dict[str, Any] | None) -> None:
        if fields is not None:
            self._fields = fields

    @property
    def name(self) -> str:
        return str(self._fields["name"])

    @property
    def listen(self) -> str:
        return str(self._fields["listen"])

    @property
    def listen_host(self) -> str:
        host = self.listen.rpartition(":")[0]
        return host[1:-1] if host.startswith("[") else host

    @property
    def listen_port(self) -> int:
        return int(self.listen.rpartition(":")[2])

    @property
    def upstream(self) -> str:
        return str(self._fields["upstream"])

    @property
    def enabled(self) -> bool:
        return bool(self._fields["enabled"])

    @property
    def _path(self) -> str:
        return f"/proxies/{quote(self.name, safe='')}"

    def refresh(self) -> ProxyHandle:
        self._refresh(self.client.request("GET", self._path))
        return self

    def add_toxic(
        self,
        type: str,
        *,
        name: str | None = None,
        stream: str | None = None,
        toxicity: float = 1.0,
        **attributes: Any,
    ) -> ToxicHandle:
        """Add a toxic; ``stream`` None lets the server choose (downstream, or upstream for
        ``redis_error``)."""
        body: dict[str, Any] = {"type": type, "toxicity": toxicity, "attributes": attributes}
        if name is not None:
            body["name"] = name
        if stream is not None:
            body["stream"] = stream
        return _toxic(self.client.request("POST", f"{self._path}/toxics", body))

    @contextmanager
    def toxic(
        self,
        type: str,
        *,
        name: str | None = None,
        stream: str | None = None,
        toxicity: float = 1.0,
        **attributes: Any,
    ) -> Iterator[ToxicHandle]:
        """The toxic for the duration of the block; removed on exit, also when the block raises."""
        added = self.add_toxic(type, name=name, stream=stream, toxicity=toxicity, **attributes)
        try:
            yield added
        finally:
            try:
                self.remove_toxic(added.name)
            except ProxyError as exc:
                if exc.status != 404:  # already gone (a reset, a deleted proxy) is fine
                    raise

    def update_toxic(
        self, name: str, *, toxicity: float | None = None, **attributes: Any
    ) -> ToxicHandle:
        body: dict[str, Any] = {"attributes": attributes}
        if toxicity is not None:
            body["toxicity"] = toxicity
        return _toxic(
            self.client.request("POST", f"{self._path}/toxics/{quote(name, safe='')}", body)
        )

    def remove_toxic(self, name: str) -> None:
        self.client.request("DELETE", f"{self._path}/toxics/{quote(name, safe='')}")

    def toxics(self) -> list[ToxicHandle]:
        return [_toxic(fields) for fields in self.client.request("GET", f"{self._path}/toxics")]

    def disable(self) -> ProxyHandle:
        """Toxiproxy's "down": the listener closes, live connections are cut."""
        self._refresh(self.client.request("POST", self._path, {"enabled": False}))
        return self

    def enable(self) -> ProxyHandle:
        self._refresh(self.client.request("POST", self._path, {"enabled": True}))
        return self

    def update(self, **fields: Any) -> ProxyHandle:
        """Change ``listen``, ``upstream`` or ``enabled``."""
        self._refresh(self.client.request("POST", self._path, fields))
        return self

    def reset(self) -> ProxyHandle:
        """Remove this proxy's toxics and enable it (``/reset`` does that for every proxy)."""
        for toxic in self.toxics():
            try:
                self.remove_toxic(toxic.name)
            except ProxyError as exc:
                if exc.status != 404:
                    raise
        return self.enable()

    def delete(self) -> None:
        self.client.request("DELETE", self._path)

    def __repr__(self) -> str:
        return f"ProxyHandle({self.name!r}, listen={self.listen!r}, upstream={self.upstream!r})"


def _toxic(fields: dict[str, Any]) -> ToxicHandle:
    return ToxicHandle(
        name=fields["name"],
        type=fields["type"],
        stream=fields["stream"],
        toxicity=float(fields["toxicity"]),
        attributes=dict(fields.get("attributes") or {}),
    )
