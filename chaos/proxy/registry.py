"""The proxies a server holds and every change the API can make to them, with Toxiproxy's rules.

Everything here runs on the server's event loop. Changes are synchronous except binding a
listener, so the data path (other callbacks on the same loop) never waits on an API request.

Binding may yield to the loop (asyncio's ``create_server`` does, uvloop's does not), so every
change that starts or stops a listener (create, update, delete, populate, reset) runs under one
lock, as Toxiproxy's collection mutex does: a name is checked, its listener started and the proxy
stored with no other change in between, and no listener ever exists outside the registry.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import socket
from typing import Any

from chaos.proxy.connection import ClientSide, Connection
from chaos.proxy.model import ApiError, Toxic, bad_body, new_toxic, update_toxic

log = logging.getLogger("chaos.proxy")

#: Where a proxy listens when the request does not say (Toxiproxy would bind every interface).
DEFAULT_LISTEN = "127.0.0.1:0"


def split_host_port(address: str, *, verb: str = "listen") -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` into its parts; Go's wording when it is malformed."""
    host, sep, port_text = address.rpartition(":")
    if not sep:
        raise ApiError(500, f"{verb} tcp: address {address}: missing port in address")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        port = int(port_text) if port_text else 0
    except ValueError:
        raise ApiError(500, f"{verb} tcp: lookup tcp/{port_text}: unknown port") from None
    if not 0 <= port <= 65535:
        raise ApiError(500, f"{verb} tcp: address {port}: invalid port")
    return host, port


def format_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def resolve_host(loop: asyncio.AbstractEventLoop, host: str) -> str:
    """An IP for ``host``; ``localhost`` without a DNS round trip (and without a thread)."""
    if host == "":
        return "::"
    if host == "localhost":
        return "127.0.0.1"
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    ipv4 = [info for info in infos if info[0] == socket.AF_INET]
    return str((ipv4 or infos)[0][4][0])


def is_loopback(ip: str) -> bool:
    return ipaddress.ip_address(ip).is_loopback


class Proxy:
    """One named listener that forwards to ``upstream`` through its toxics."""

    def __init__(
        self, collection: ProxyCollection, name: str, listen: str, upstream: str, enabled: bool
    ) -> None:
        self.collection = collection
        self.name = name
        self.listen = listen
        self.upstream = upstream
        self.enabled = enabled
        self.toxics: list[Toxic] = []
        self.connections: set[Connection] = set()
        self.bound: tuple[str, int] | None = None
        self._server: asyncio.base_events.Server | None = None
        self._connection_count = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
            "toxics": self.toxics_json(),
        }

    def toxics_json(self) -> list[dict[str, Any]]:
        ordered = [t for t in self.toxics if t.direction == "upstream"] + [
            t for t in self.toxics if t.direction == "downstream"
        ]
        return [toxic.to_json() for toxic in ordered]

    # --- listener --------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind ``listen`` and accept; ApiError 500 (Go's text) when the bind fails."""
        if self._server is not None:
            return
        loop = self.collection.loop
        host, port = split_host_port(self.listen)
        try:
            ip = await resolve_host(loop, host)
        except OSError as exc:
            raise ApiError(500, f"listen tcp {self.listen}: lookup {host}: {exc}") from None
        if not self.collection.allow_remote and not is_loopback(ip):
            raise ApiError(
                400,
                f"listen {self.listen!r} is off loopback: field 'listen' must be a 127.0.0.1, "
                "::1 or localhost address unless the server runs with --allow-remote",
            )
        family = socket.AF_INET6 if ":" in ip else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6 and ip == "::":
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            sock.bind((ip, port))
            sock.listen(1024)
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            reason = (exc.strerror or str(exc)).lower()
            raise ApiError(500, f"listen tcp {format_address(ip, port)}: bind: {reason}") from None
        try:
            self._server = await loop.create_server(
                lambda: ClientSide(self.new_connection()), sock=sock
            )
        except BaseException:
            sock.close()  # cancelled or refused: a listening socket must not outlive the call
            raise
        bound_ip, bound_port = sock.getsockname()[:2]
        self.bound = (bound_ip, bound_port)
        self.listen = format_address(bound_ip, bound_port)
        log.info("proxy %s listening on %s, upstream %s", self.name, self.listen, self.upstream)

    def stop(self) -> None:
        """Close the listener (new connects are refused) and every live connection."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for connection in list(self.connections):
            connection.close()
        self.connections.clear()

    @property
    def running(self) -> bool:
        return self._server is not None

    # --- connections -----------------------------------------------------------------------

    def new_connection(self) -> Connection:
        index = self._connection_count
        self._connection_count += 1
        connection = Connection(self, index, self.collection.loop)
        self.connections.add(connection)
        return connection

    def forget(self, connection: Connection) -> None:
        self.connections.discard(connection)

    def seed_for_connection(self, index: int) -> str:
        """Each connection's draws come from (server seed, proxy, connection number): replayable
        whatever other proxies do meanwhile."""
        return f"{self.collection.seed}:{self.name}:{index}"

    def reset_connection_count(self) -> None:
        self._connection_count = 0

    def upstream_address(self) -> tuple[str, int]:
        host, port = split_host_port(self.upstream, verb="dial")
        if host == "localhost":
            host = "127.0.0.1"
        if not self.collection.allow_remote:
            try:
                ip = ipaddress.ip_address(host or "0.0.0.0")
            except ValueError:
                raise ValueError(
                    f"upstream {self.upstream!r} is not a loopback IP and the server runs "
                    "without --allow-remote"
                ) from None
            if not ip.is_loopback:
                raise ValueError(
                    f"upstream {self.upstream!r} is off loopback and the server runs without "
                    "--allow-remote"
                )
        return host, port

    def log_dial_failure(self, exc: BaseException) -> None:
        log.warning("proxy %s: cannot reach upstream %s: %s", self.name, self.upstream, exc)

    # --- toxics ----------------------------------------------------------------------------

    def find_toxic(self, name: str) -> Toxic:
        for toxic in self.toxics:
            if toxic.name == name:
                return toxic
        raise ApiError(404, f"toxic not found: {name}")

    def add_toxic(self, body: Any) -> Toxic:
        toxic = new_toxic(body, {t.name for t in self.toxics})
        self.toxics.append(toxic)
        for connection in list(self.connections):
            if connection.server is not None:
                connection.add_toxic(toxic)
        return toxic

    def update_toxic(self, name: str, body: Any) -> Toxic:
        toxic = self.find_toxic(name)
        update_toxic(toxic, body)
        for connection in list(self.connections):
            connection.update_toxic(toxic)
        return toxic

    def remove_toxic(self, name: str) -> None:
        toxic = self.find_toxic(name)
        self.toxics.remove(toxic)
        for connection in list(self.connections):
            connection.remove_toxic(toxic)

    def remove_all_toxics(self) -> None:
        for toxic in list(self.toxics):
            self.remove_toxic(toxic.name)


def _proxy_fields(body: Any, where: str = "") -> dict[str, Any]:
    """The typed fields of a proxy request; a wrong type is a 400 that names the field."""
    if not isinstance(body, dict):
        raise bad_body(f"expected a JSON object{where}, got {json.dumps(body)[:80]}")
    fields: dict[str, Any] = {}
    for key, kind in (("name", str), ("listen", str), ("upstream", str), ("enabled", bool)):
        if key in body and body[key] is not None:
            if not isinstance(body[key], kind):
                expected = "a boolean" if kind is bool else "a string"
                raise bad_body(
                    f"field {key!r}{where} must be {expected}, got {json.dumps(body[key])}"
                )
            fields[key] = body[key]
    return fields


class ProxyCollection:
    """Every proxy of one server, by name, and the operations of the API on them."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, *, seed: int, allow_remote: bool = False
    ) -> None:
        self.loop = loop
        self.seed = seed
        self.allow_remote = allow_remote
        self.proxies: dict[str, Proxy] = {}
        self.closed = False
        #: Held by every change that starts or stops a listener (see the module's docstring).
        self._changes = asyncio.Lock()

    def get(self, name: str) -> Proxy:
        try:
            return self.proxies[name]
        except KeyError:
            raise ApiError(404, f"proxy not found: {name}") from None

    async def create(self, body: Any) -> Proxy:
        async with self._changes:
            return await self._create(body)

    async def _create(self, body: Any) -> Proxy:
        fields = _proxy_fields(body)
        if not fields.get("name"):
            raise ApiError(400, "missing required field: name")
        _check_name(fields["name"])
        if not fields.get("upstream"):
            raise ApiError(400, "missing required field: upstream")
        if fields["name"] in self.proxies:
            raise ApiError(409, f"proxy already exists: {fields['name']}")
        proxy = Proxy(
            self,
            fields["name"],
            fields.get("listen", DEFAULT_LISTEN),
            fields["upstream"],
            fields.get("enabled", True),
        )
        if proxy.enabled:
            await proxy.start()
        if self.closed:
            proxy.stop()
            raise ApiError(503, "the server is shutting down")
        self.proxies[proxy.name] = proxy
        log.info("created proxy %s", json.dumps(proxy.to_json()))
        return proxy

    async def update(self, name: str, body: Any) -> Proxy:
        async with self._changes:
            return await self._update(name, body)

    async def _update(self, name: str, body: Any) -> Proxy:
        proxy = self.get(name)
        fields = _proxy_fields(body)
        listen = fields.get("listen", proxy.listen)
        upstream = fields.get("upstream", proxy.upstream)
        enabled = fields.get("enabled", proxy.enabled)
        moved = upstream != proxy.upstream or not await self._same_listen(proxy, listen)
        if moved:
            proxy.stop()
            proxy.listen, proxy.upstream = listen, upstream
        if enabled and not proxy.running:
            proxy.enabled = True
            try:
                await proxy.start()
            except ApiError:
                proxy.enabled = False
                raise
        elif not enabled and proxy.running:
            proxy.stop()
        proxy.enabled = enabled
        log.info("updated proxy %s", json.dumps(proxy.to_json()))
        return proxy

    async def _same_listen(self, proxy: Proxy, listen: str) -> bool:
        if listen == proxy.listen:
            return True
        if proxy.bound is None:
            return False
        host, port = split_host_port(listen)
        try:
            ip = await resolve_host(self.loop, host)
        except OSError:
            return False
        return port != 0 and (ip, port) == proxy.bound

    async def delete(self, name: str) -> None:
        async with self._changes:
            proxy = self.get(name)
            proxy.stop()
            del self.proxies[name]
        log.info("deleted proxy %s", name)

    async def populate(self, body: Any) -> list[Proxy]:
        """Create or replace each entry in order; ApiError carries the proxies done so far."""
        if not isinstance(body, list):
            raise bad_body(f"expected a JSON array of proxies, got {json.dumps(body)[:80]}")
        entries = []
        for number, entry in enumerate(body, start=1):
            where = f" at proxy {number}"
            fields = _proxy_fields(entry, where)
            if not fields.get("name"):
                raise ApiError(400, f"missing required field: name{where}")
            _check_name(fields["name"], where)
            if not fields.get("upstream"):
                raise ApiError(400, f"missing required field: upstream{where}")
            entries.append(fields)
        done: list[Proxy] = []
        async with self._changes:
            for fields in entries:
                try:
                    done.append(await self._populate_one(fields))
                except ApiError as exc:
                    exc.done = done  # type: ignore[attr-defined]
                    raise
        log.info("populated %d proxies: %s", len(done), ", ".join(p.name for p in done))
        return done

    async def _populate_one(self, fields: dict[str, Any]) -> Proxy:
        listen = fields.get("listen", DEFAULT_LISTEN)
        existing = self.proxies.get(fields["name"])
        if existing is not None:
            if existing.upstream == fields["upstream"] and await self._same_listen(
                existing, listen
            ):
                return existing
            existing.stop()
            del self.proxies[existing.name]
        return await self._create({**fields, "listen": listen})

    async def reset(self) -> None:
        """Enable every proxy and remove every toxic; addresses and proxies stay."""
        async with self._changes:
            await self._reset()

    async def _reset(self) -> None:
        failure: ApiError | None = None
        for proxy in self.proxies.values():
            proxy.remove_all_toxics()
            if not proxy.running:
                try:
                    proxy.enabled = True
                    await proxy.start()
                except ApiError as exc:
                    proxy.enabled = False
                    failure = failure or exc
        log.info("reset: every proxy enabled, every toxic removed")
        if failure is not None:
            raise failure

    def set_seed(self, seed: int) -> None:
        """Draws start again from ``seed``: connection numbers count from 0 again."""
        self.seed = seed
        for proxy in self.proxies.values():
            proxy.reset_connection_count()
        log.info("seed set to %d", seed)

    def close(self) -> None:
        self.closed = True
        for proxy in self.proxies.values():
            proxy.stop()
        self.proxies.clear()

    # --- toxic operations, logged ------------------------------------------------------------

    def add_toxic(self, proxy_name: str, body: Any) -> Toxic:
        proxy = self.get(proxy_name)
        toxic = proxy.add_toxic(body)
        log.info("proxy %s: added toxic %s", proxy_name, json.dumps(toxic.to_json()))
        return toxic

    def update_toxic(self, proxy_name: str, toxic_name: str, body: Any) -> Toxic:
        toxic = self.get(proxy_name).update_toxic(toxic_name, body)
        log.info("proxy %s: updated toxic %s", proxy_name, json.dumps(toxic.to_json()))
        return toxic

    def remove_toxic(self, proxy_name: str, toxic_name: str) -> None:
        self.get(proxy_name).remove_toxic(toxic_name)
        log.info("proxy %s: removed toxic %s", proxy_name, toxic_name)


def _check_name(name: str, where: str = "") -> None:
    """A name the API's paths can address: ``/proxies/{name}`` matches no "/" (Toxiproxy accepts
    such a name and then answers 404 for it, so the proxy could be neither changed nor deleted)."""
    unusable = [c for c in name if c == "/" or not c.isprintable()]
    if unusable:
        raise ApiError(
            400,
            f"invalid proxy name{where}: {json.dumps(name)} contains {json.dumps(unusable[0])} "
            "(field 'name', expected no '/' and no control characters: it is a URL path segment)",
        )
