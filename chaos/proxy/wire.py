"""The interfaces between the proxy's parts: what a link, a toxic and a connection may ask of
each other, and the data they pass.

Links and toxics run on a connection, a connection runs for a proxy, and each needs a few things
of the one above it (close the connection, the proxy's toxics and seed). Naming those few things
here, as protocols, lets each module import only downwards (registry -> connection -> toxics ->
link -> wire), with no cycle. Protocols cost nothing at run time: the fast path is unchanged.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from chaos.proxy.model import Toxic

#: The clock of read stamps and toxic deadlines. Not ``loop.time()``: uvloop's is libuv's cached
#: millisecond clock, which can lag by up to a millisecond and would let latency end early.
now = time.monotonic


class Chunk:
    """Bytes read from the source, with the ``now()`` they were read (latency counts from it)."""

    __slots__ = ("data", "stamp")

    def __init__(self, data: bytes, stamp: float) -> None:
        self.data = data
        self.stamp = stamp


Emit = Callable[[Chunk | None], Awaitable[None]]


class ConnectionEnds(Protocol):
    """What a link and its toxics may do to the connection they carry
    (``chaos.proxy.connection.Connection``)."""

    closed: bool

    def close(self) -> None:
        """Close both sockets after what is already written has been flushed."""

    def reset(self) -> None:
        """Drop both sockets at once (an RST where SO_LINGER 0 was set at accept)."""

    def expect_reply(self, marker: bytes, replacement: bytes) -> None:
        """Replace the server's reply ``marker`` by ``replacement`` on the way back."""


class LinkReader(Protocol):
    """The socket protocol that feeds a link; on the fast path its ``data_received`` is the
    sink's ``write``."""

    data_received: Callable[[bytes], object]

    def route(
        self, transport: asyncio.BaseTransport, fast_write: Callable[[bytes], object] | None
    ) -> None: ...


class ProxyEnd(Protocol):
    """What a connection asks of the proxy it belongs to (``chaos.proxy.registry.Proxy``)."""

    @property
    def toxics(self) -> Sequence[Toxic]: ...

    def seed_for_connection(self, index: int) -> str: ...

    def upstream_address(self) -> tuple[str, int]: ...

    def log_dial_failure(self, exc: BaseException) -> None: ...

    def forget(self, connection: object) -> None: ...
