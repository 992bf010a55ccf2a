"""One proxied TCP connection: the accepted client socket, the dialled upstream, two links.

The reading protocols hold a reference to the link they feed. On the fast path (no active toxic)
a protocol's ``data_received`` *is* the other socket's ``transport.write``: the event loop hands
each chunk straight to it, with no Python frame in between. Closing either side closes the whole
connection, as Toxiproxy does (no half-close).
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
from collections import deque
from collections.abc import Callable

from chaos.proxy.link import Link, ToxicRun
from chaos.proxy.model import Toxic
from chaos.proxy.toxics import BEHAVIOURS, REPLY_REWRITER
from chaos.proxy.wire import ProxyEnd

_LINGER_ZERO = struct.pack("ii", 1, 0)


class Connection:
    """A client connection and its upstream, from accept to close."""

    def __init__(self, proxy: ProxyEnd, index: int, loop: asyncio.AbstractEventLoop) -> None:
        self.proxy = proxy
        self.index = index
        self.loop = loop
        seed = proxy.seed_for_connection(index)
        self.upstream = Link(self, "upstream", random.Random(f"{seed}:upstream"), loop)
        self.downstream = Link(self, "downstream", random.Random(f"{seed}:downstream"), loop)
        self.client: asyncio.Transport | None = None
        self.server: asyncio.Transport | None = None
        self.closed = False
        self._dial_task: asyncio.Task[None] | None = None
        self._rewriter: ToxicRun | None = None

    # --- life cycle ------------------------------------------------------------------------

    def accepted(self, transport: asyncio.Transport) -> None:
        self.client = transport
        transport.pause_reading()
        if any(toxic.type == "reset_peer" for toxic in self.proxy.toxics):
            # Toxiproxy sets SO_LINGER 0 at accept, so only connections opened while a reset_peer
            # toxic exists get an RST; older ones get a plain close.
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
        self._dial_task = self.loop.create_task(self._dial())

    async def _dial(self) -> None:
        try:
            host, port = self.proxy.upstream_address()
            transport, _ = await self.loop.create_connection(lambda: UpstreamSide(self), host, port)
        except (OSError, ValueError) as exc:
            self.proxy.log_dial_failure(exc)
            self.close()
            return
        finally:
            self._dial_task = None
        if self.closed:
            transport.close()
            return
        self.server = transport  # type: ignore[assignment]
        for toxic in self.proxy.toxics:
            self.add_toxic(toxic)
        assert self.client is not None
        self.upstream.connect(self.client, self.server)
        self.downstream.connect(self.server, self.client)
        if self.client is not None:
            self.client.resume_reading()

    def close(self) -> None:
        """Close both sockets after what is already written has been flushed."""
        if self.closed:
            return
        self._finish()
        for transport in (self.client, self.server):
            if transport is not None:
                transport.close()

    def reset(self) -> None:
        """Drop both sockets at once (an RST where SO_LINGER 0 was set at accept)."""
        if self.closed:
            return
        self._finish()
        for transport in (self.client, self.server):
            if transport is not None:
                transport.abort()

    def _finish(self) -> None:
        self.closed = True
        if self._dial_task is not None and self._dial_task is not asyncio.current_task(self.loop):
            self._dial_task.cancel()
        self.upstream.close()
        self.downstream.close()
        self.proxy.forget(self)

    # --- toxics on live links --------------------------------------------------------------

    def _link(self, direction: str) -> Link:
        return self.upstream if direction == "upstream" else self.downstream

    def add_toxic(self, toxic: Toxic) -> None:
        link = self._link(toxic.direction)
        run = ToxicRun(toxic, BEHAVIOURS[toxic.type], link, toxic.order)
        run.active = self._draw(run)
        link.add_run(run)
        run.behaviour.start(run)

    def update_toxic(self, toxic: Toxic) -> None:
        link = self._link(toxic.direction)
        run = link.run_for(toxic)
        if run is None:
            return
        run.behaviour.stop(run)
        run.interrupt()
        run.active = self._draw(run)
        link.refresh()
        run.behaviour.start(run)

    def remove_toxic(self, toxic: Toxic) -> None:
        link = self._link(toxic.direction)
        run = link.run_for(toxic)
        if run is None:
            return
        run.interrupt()
        if run.behaviour.removed(run):
            link.drop_run(run)

    def _draw(self, run: ToxicRun) -> bool:
        if not run.behaviour.draws_per_link:
            return True
        return run.link.rng.random() < run.toxic.toxicity

    def expect_reply(self, marker: bytes, replacement: bytes) -> None:
        """``redis_error``: swap the reply ``marker`` for ``replacement`` on the way back."""
        if self._rewriter is None:
            toxic = Toxic(
                name="",
                type="reply_rewriter",
                stream="downstream",
                toxicity=1.0,
                attributes={},
                order=-1,
            )
            self._rewriter = ToxicRun(toxic, REPLY_REWRITER, self.downstream, -1)
            self.downstream.runs.insert(0, self._rewriter)
        self._rewriter.state.setdefault("expected", deque()).append((marker, replacement))
        self._rewriter.active = True
        self.downstream.refresh()


class _Side(asyncio.Protocol):
    """One socket of a proxied connection: its bytes feed ``link`` (toxics, then the other
    socket); when its own transport's buffer fills, ``writer`` (the link writing into it) pauses."""

    # ``data_received`` is a slot, not a method: ``route`` points it at the sink's ``write`` on the
    # fast path, and at ``feed_link`` otherwise.
    __slots__ = ("connection", "data_received", "link", "writer")

    def __init__(self, connection: Connection, link: Link, writer: Link) -> None:
        self.connection = connection
        self.link = link
        self.writer = writer
        self.data_received: Callable[[bytes], object] = self.feed_link
        link.reader = self

    def feed_link(self, data: bytes) -> None:
        """A chunk for the toxic chain (or for the queue while the upstream is being dialled)."""
        self.link.feed(data)

    def route(
        self, transport: asyncio.BaseTransport, fast_write: Callable[[bytes], object] | None
    ) -> None:
        """Send this socket's chunks to ``fast_write`` (the sink's ``write``), or to the link when
        None. uvloop caches ``data_received`` when the protocol is set, so it is set again."""
        self.data_received = self.feed_link if fast_write is None else fast_write
        transport.set_protocol(self)

    def eof_received(self) -> bool:
        self.link.feed_eof()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.connection.closed:
            self.link.feed_eof()

    def pause_writing(self) -> None:
        self.writer.sink_paused()

    def resume_writing(self) -> None:
        self.writer.sink_resumed()


class ClientSide(_Side):
    """The accepted socket: its bytes feed the upstream link; the downstream link writes to it."""

    __slots__ = ()

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection, connection.upstream, connection.downstream)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.connection.accepted(transport)  # type: ignore[arg-type]


class UpstreamSide(_Side):
    """The dialled socket: its bytes feed the downstream link; the upstream link writes to it."""

    __slots__ = ()

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection, connection.downstream, connection.upstream)
