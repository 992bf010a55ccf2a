"""One direction of one proxied connection: bytes from a source socket through a toxic chain to a sink.

With no active toxic the link is on its fast path: the event loop hands each chunk read from the
source straight to the sink transport's ``write`` (the reader's ``data_received`` is that method),
nothing else runs. With toxics, chunks queue up and one task per link walks
each chunk through the chain in creation order (Toxiproxy's order: the first toxic added is
nearest the source). A toxic's wait is a ``hold`` that a change to that toxic interrupts, which is
how updates and removals act on live connections without losing data.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Awaitable
from typing import Any, Protocol

from chaos.proxy.model import Toxic
from chaos.proxy.wire import Chunk, ConnectionEnds, Emit, LinkReader, now

#: Bytes queued in a link before its source socket stops being read.
QUEUE_HIGH_WATER = 256 * 1024

#: The chain position of fresh data: before every toxic (the reply rewriter has order -1).
FROM_SOURCE = -(2**62)


class ToxicBehaviour(Protocol):
    """What a toxic type does on a link (see ``chaos.proxy.toxics``)."""

    draws_per_link: bool

    def start(self, run: ToxicRun) -> None: ...

    def stop(self, run: ToxicRun) -> None: ...

    def removed(self, run: ToxicRun) -> bool: ...

    async def pipe(self, run: ToxicRun, chunk: Chunk | None, emit: Emit) -> None: ...


class ToxicRun:
    """One toxic on one link: whether toxicity chose it, its per-connection state, its waits."""

    __slots__ = ("_holds", "active", "behaviour", "link", "order", "state", "toxic")

    def __init__(self, toxic: Toxic, behaviour: ToxicBehaviour, link: Link, order: int) -> None:
        self.toxic = toxic
        self.behaviour = behaviour
        self.link = link
        self.order = order
        self.active = False
        self.state: dict[str, Any] = {}
        self._holds: set[asyncio.Future[bool]] = set()

    async def hold(self, seconds: float | None) -> bool:
        """Wait ``seconds`` (None: until interrupted). True if the time ran out, False if a change
        to this toxic interrupted the wait."""
        loop = self.link.loop
        deadline = None if seconds is None else now() + seconds
        while True:
            waiter: asyncio.Future[bool] = loop.create_future()
            timer = None
            if deadline is not None:
                remaining = deadline - now()
                if remaining <= 0:
                    return True
                timer = loop.call_later(remaining, _resolve, waiter, True)
            self._holds.add(waiter)
            try:
                if not await waiter:
                    return False
            finally:
                self._holds.discard(waiter)
                if timer is not None:
                    timer.cancel()
            # Timers with millisecond resolution (libuv) may fire a little early: wait the rest.

    def interrupt(self) -> None:
        for waiter in list(self._holds):
            _resolve(waiter, False)


def _resolve(waiter: asyncio.Future[bool], value: bool) -> None:
    if not waiter.done():
        waiter.set_result(value)


class Link:
    """Bytes in one direction of a connection (``upstream``: client to server)."""

    def __init__(
        self,
        connection: ConnectionEnds,
        direction: str,
        rng: random.Random,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.connection = connection
        self.direction = direction
        self.rng = rng
        self.loop = loop
        self.source: asyncio.Transport | None = None
        self.sink: asyncio.Transport | None = None
        #: The protocol reading ``source``: told where its chunks go when ``fast`` changes.
        self.reader: LinkReader | None = None
        self.runs: list[ToxicRun] = []
        self.fast = False
        self.ready = False
        self.closed = False
        self._pending: deque[tuple[Chunk | None, int]] = deque()
        self._pending_bytes = 0
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Future[None] | None = None
        self._sink_writable: asyncio.Future[None] | None = None
        self._source_pauses: set[str] = set()

    # --- the chain -------------------------------------------------------------------------

    def add_run(self, run: ToxicRun) -> None:
        self.runs.append(run)
        self.runs.sort(key=lambda item: item.order)
        self.refresh()

    def drop_run(self, run: ToxicRun) -> None:
        if run in self.runs:
            self.runs.remove(run)
        self.refresh()

    def run_for(self, toxic: Toxic) -> ToxicRun | None:
        for run in self.runs:
            if run.toxic is toxic:
                return run
        return None

    def connect(self, source: asyncio.Transport, sink: asyncio.Transport) -> None:
        """Both sockets are there: data read before the upstream answered can now flow."""
        self.source, self.sink = source, sink
        self.ready = True
        self.refresh()

    def refresh(self) -> None:
        """Recompute the fast path and start the chain task when data or a toxic needs it."""
        if not self.ready:
            return
        active = any(run.active for run in self.runs)
        self._set_fast(not active and self._task is None and not self._pending)
        if not self.fast and self._pending and self._task is None and not self.closed:
            self._start_task()
        elif not active and not self._pending and self._wake is not None and not self._wake.done():
            # The last toxic went while the chain task was idle: let it end now, so that the
            # link is back on the fast path at once rather than after its next chunk.
            self._wake.set_result(None)

    # --- data in ---------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Data read from the source while the link is not on its fast path."""
        if self.closed:
            return
        self._pending.append((Chunk(data, now()), FROM_SOURCE))
        self._pending_bytes += len(data)
        if self._pending_bytes > QUEUE_HIGH_WATER:
            self.pause_source("queue")
        self._kick()

    def feed_eof(self) -> None:
        """The source closed: the close travels the chain after the data before it."""
        if self.closed:
            return
        if self.fast:
            self.connection.close()
            return
        self._pending.append((None, FROM_SOURCE))
        self._kick()

    def inject(self, chunk: Chunk | None, after_order: int) -> None:
        """Queue ``chunk`` to enter the chain after the toxic of order ``after_order``."""
        if self.closed:
            return
        self._pending.append((chunk, after_order))
        self._set_fast(False)
        self._kick()

    def _kick(self) -> None:
        if not self.ready:
            return
        if self._task is None:
            self._start_task()
        elif self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    def _start_task(self) -> None:
        self._set_fast(False)
        self._task = self.loop.create_task(self._walk())

    def _set_fast(self, fast: bool) -> None:
        """Enter or leave the fast path: the reader's chunks go straight to the sink's ``write``,
        or through ``feed`` and the chain task."""
        if fast == self.fast:
            return
        self.fast = fast
        if self.closed or self.reader is None or self.source is None or self.sink is None:
            return
        self.reader.route(self.source, self.sink.write if fast else None)

    def on_fast_path(self) -> bool:
        """True when the reader really hands chunks to the sink's ``write`` (not just the flag)."""
        reader, sink = self.reader, self.sink
        return (
            self.fast
            and not self.closed
            and reader is not None
            and sink is not None
            and reader.data_received == sink.write
        )

    async def _walk(self) -> None:
        try:
            while not self.closed:
                if not self._pending:
                    if not any(run.active for run in self.runs):
                        break
                    self._wake = self.loop.create_future()
                    await self._wake
                    self._wake = None
                    continue
                chunk, after_order = self._pending.popleft()
                if chunk is not None:
                    self._pending_bytes -= len(chunk.data)
                    if self._pending_bytes <= QUEUE_HIGH_WATER // 2:
                        self.resume_source("queue")
                await self.emit_after(after_order, chunk)
        finally:
            self._task = None
            self._wake = None
            if not self.closed:
                self.refresh()

    async def emit_after(self, order: int, chunk: Chunk | None) -> None:
        """Hand ``chunk`` to the first active toxic after ``order``, or to the sink."""
        if self.closed:
            return
        for run in self.runs:
            if run.order > order and run.active:
                await run.behaviour.pipe(run, chunk, _Emitter(self, run.order))
                return
        await self._deliver(chunk)

    async def _deliver(self, chunk: Chunk | None) -> None:
        if chunk is None:
            self.connection.close()
            return
        while self._sink_writable is not None and not self.closed:
            await self._sink_writable
        if not self.closed and self.sink is not None:
            self.sink.write(chunk.data)

    # --- flow control ----------------------------------------------------------------------

    def pause_source(self, reason: str) -> None:
        if not self._source_pauses and self.source is not None and not self.closed:
            self.source.pause_reading()
        self._source_pauses.add(reason)

    def resume_source(self, reason: str) -> None:
        if reason not in self._source_pauses:
            return
        self._source_pauses.discard(reason)
        if not self._source_pauses and self.source is not None and not self.closed:
            self.source.resume_reading()

    def sink_paused(self) -> None:
        """The sink's write buffer is full: stop reading the source until it drains."""
        if self._sink_writable is None:
            self._sink_writable = self.loop.create_future()
        self.pause_source("sink")

    def sink_resumed(self) -> None:
        waiter, self._sink_writable = self._sink_writable, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        self.resume_source("sink")

    # --- the end ---------------------------------------------------------------------------

    def close(self) -> None:
        """Stop for good: cancel the chain task and every toxic's timers."""
        if self.closed:
            return
        self.closed = True
        for run in self.runs:
            run.behaviour.stop(run)
            run.interrupt()
        self._pending.clear()
        task = self._task
        if task is not None and task is not asyncio.current_task(self.loop):
            task.cancel()
        waiter, self._sink_writable = self._sink_writable, None
        if waiter is not None and not waiter.done():
            waiter.cancel()


class _Emitter:
    """``emit`` for one toxic: passes chunks on to the toxics after it."""

    __slots__ = ("link", "order")

    def __init__(self, link: Link, order: int) -> None:
        self.link = link
        self.order = order

    def __call__(self, chunk: Chunk | None) -> Awaitable[None]:
        return self.link.emit_after(self.order, chunk)
