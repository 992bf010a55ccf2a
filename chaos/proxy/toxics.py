"""What each toxic type does to the bytes of one link, with Toxiproxy 2.12's semantics.

Each behaviour's ``pipe`` takes one chunk (None is the source's close travelling down the chain)
and passes what survives to ``emit``. Waits go through ``run.hold`` so that an update or a
removal interrupts them: as in Toxiproxy, an interrupted toxic lets its held data go on at once.
"""

from __future__ import annotations

from collections import deque

from chaos.proxy.link import ToxicRun
from chaos.proxy.model import redis_error_reply
from chaos.proxy.resp import RespProtocolError, bulk_reply, encode_command, split_command
from chaos.proxy.wire import Chunk, Emit, now


class Passthrough:
    """``noop``, and the base of the others: data goes on unchanged."""

    draws_per_link = True

    def start(self, run: ToxicRun) -> None:
        """Called when the toxic starts on a link (created, or restarted by an update)."""

    def stop(self, run: ToxicRun) -> None:
        """Called before an update restarts it and when the link closes."""

    def removed(self, run: ToxicRun) -> bool:
        """Called when the toxic is removed; False keeps the run until its state has drained."""
        return True

    async def pipe(self, run: ToxicRun, chunk: Chunk | None, emit: Emit) -> None:
        await emit(chunk)


class Latency(Passthrough):
    """Each chunk goes on at read time + latency (+ uniform jitter in [-jitter, jitter))."""

    async def pipe(self, run: ToxicRun, chunk: Chunk | None, emit: Emit) -> None:
        if chunk is None:
            await emit(None)
            return
        attributes = run.toxic.attributes
        delay_ms = float(attributes["latency"])
        jitter_ms = attributes["jitter"]
        if jitter_ms:
            delay_ms += run.link.rng.uniform(-jitter_ms, jitter_ms)
        deadline = chunk.stamp + delay_ms / 1000.0
        wait = deadline - now()
        if wait > 0:
            await run.hold(wait)
        chunk.stamp = deadline
        await emit(chunk)


class Bandwidth(Passthrough):
    """Paces data at ``rate`` KB/s (1 KB = 1000 bytes); rate 0 holds the data back entirely."""

    async def pipe(self, run: ToxicRun, chunk: Chunk | None, emit: Emit) -> None:
        if chunk is None:
            await emit(None)
            return
        rate = run.toxic.attributes["rate"]
        if rate <= 0:
            await run.hold(None)
            run.state["sleep_ms"] = 0.0
            await emit(chunk)
            return
        data = chunk.data
        sleep_ms = run.state.get("sleep_ms", 0.0) + len(data) / rate
        slice_size = rate * 100
        while len(data) > slice_size:
            if not await run.hold(0.1):
                run.state["sleep_ms"] = 0.0
                await emit(Chunk(data, chunk.stamp))
                return
            await emit(Chunk(data[:slice_size], chunk.stamp))
            data = data[slice_size:]
            sleep_ms -= 100.0
        started = now()
        if sleep_ms > 0 and not await run.hold(sleep_ms / 1000.0):
            run.state["sleep_ms"] = 0.0
            await emit(Chunk(data, chunk.stamp))
            return
        # What the timer overshot is taken off the next wait, so the average rate holds.
        run.state["sleep_ms"] = sleep_ms - (now() - started) * 1000.0
        await emit(Chunk(data, chunk.stamp))


class SlowClose(Passthrough):
    """Data passes; the close is held back ``delay`` ms after the source closed."""

    async def pipe(self, run: ToxicRun, chunk: Chunk | None, emit: Emit) -> None:
        if chunk is None:
            await run.hold(run.toxic.attributes["delay"] / 1000.0)
        await emit(chunk)


class Timeout(Passthrough):
    """Drops all data. ``timeout`` > 0 closes the connection after that long with no data (every
    chunk restarts the clock); 0 holds it open until the toxic goes, which then closes it."""

    def start(self, run: ToxicRun) -> None:
        self._arm(run)

    def stop(self, run: ToxicRun) -> None:
        timer = run.state.pop("timer", None)
        if timer is not None:
            timer.cancel()

    def removed(self, run: ToxicRun) -> bool:
        self.stop(run)
        run.link.connection.close()
        return True

    def _arm(self, run: ToxicRun) -> None:
        self.stop(run)
        timeout_ms = run.toxic.attributes["timeout"]
        if timeout_ms > 0 and run.active:
            run.state["timer"] = run.link.loop.call_later(
                timeout_ms / 1000.0, run.link.connection.close
            )

    async def pipe(self, run: ToxicRun, chunk: Chunk | None, emit: Emit) -> None:
        if chunk is None:
            await emit(None)
            return
        self._arm(run)


class ResetPeer(Passthrough):
    """After the first chunk (or close), waits ``timeout`` ms and resets the connection: an RST
    for connections opened while the toxic was present, a plain close for older ones."""

    async def pipe(self, run: ToxicRun, chunk: Chunk | None, emit: Emit) -> None:
        if await run.hold(run.toxic.attributes["timeout"] / 1000.0):
            run.link.connection.reset()


class Slicer(Passthrough):
    """Cuts each chunk into pieces near ``average_size`` (± ``size_variation``) bytes, with
    ``delay`` microseconds between pieces."""

    async def pipe(self, run: ToxicRun, chunk: Chunk | None, emit: Emit) -> None:
        if chunk is None:
            await emit(None)
            return
        attributes = run.toxic.attributes
        bounds = slice_bounds(
            len(chunk.data),
            attributes["average_size"],
            attributes["size_variation"],
            run.link.rng.randrange,
        )
        delay_s = attributes["delay"] / 1_000_000.0
        for index, (start, end) in enumerate(bounds):
            await emit(Chunk(chunk.data[start:end], chunk.stamp))
            if index + 1 < len(bounds) and delay_s > 0 and not await run.hold(delay_s):
                await emit(Chunk(chunk.data[end:], chunk.stamp))
                return


def slice_bounds(
    size: int, average: int, variation: int, randrange: object
) -> list[tuple[int, int]]:
    """Toxiproxy's slicer split: halve until a piece is within ``variation`` of ``average``."""
    average = max(average, 1)
    pieces: list[tuple[int, int]] = []
    todo = [(0, size)]
    while todo:
        start, end = todo.pop()
        if (end - start) - average <= variation or end - start < 2:
            if end > start:
                pieces.append((start, end))
            continue
        offset = randrange(-variation, variation) if variation > 0 else 0  # type: ignore[operator]
        middle = min(max(start + (end - start) // 2 + offset, start + 1), end - 1)
        todo.append((middle, end))
        todo.append((start, middle))
    return pieces


class LimitData(Passthrough):
    """Forwards ``bytes`` bytes in all on this link (kept across updates), then closes."""

    async def pipe(self, run: ToxicRun, chunk: Chunk | None, emit: Emit) -> None:
        if chunk is None:
            await emit(None)
            return
        if run.state.get("closed"):
            return
        limit = run.toxic.attributes["bytes"]
        sent = run.state.get("sent", 0)
        data = chunk.data[: max(limit - sent, 0)]
        if data:
            run.state["sent"] = sent + len(data)
            await emit(Chunk(data, chunk.stamp))
        if run.state.get("sent", 0) >= limit:
            run.state["closed"] = True
            await emit(None)


class RedisError(Passthrough):
    """Extension: answers matching Redis commands with an error reply instead of forwarding them.

    A matching command is replaced on the wire by ``ECHO <token>``; the reply rewriter on the
    other link swaps that echo's reply for the error. Redis itself keeps the replies in order, so
    pipelines and blocking commands stay correct without counting replies. Toxicity is drawn per
    matching command, ``count`` > 0 stops after that many answers (over all connections).
    """

    draws_per_link = False

    def removed(self, run: ToxicRun) -> bool:
        # A command split across reads must reach Redis whole: keep parsing until it has.
        run.state["retiring"] = True
        return not run.state.get("buffer")

    async def pipe(self, run: ToxicRun, chunk: Chunk | None, emit: Emit) -> None:
        buffer: bytearray = run.state.setdefault("buffer", bytearray())
        if chunk is None:
            if buffer:
                await emit(Chunk(bytes(buffer), now()))
                buffer.clear()
            await emit(None)
            return
        if run.state.get("broken"):
            await emit(chunk)
            return
        buffer += chunk.data
        out = bytearray()
        position = 0
        try:
            while (found := split_command(buffer, position)) is not None:
                end, name = found
                if not run.state.get("retiring") and self._fires(run, name):
                    out += self._swap(run)
                else:
                    out += buffer[position:end]
                position = end
        except RespProtocolError:
            run.state["broken"] = True
            position = len(buffer)
            out += buffer
        del buffer[:position]
        if run.state.get("retiring") and not buffer:
            run.link.drop_run(run)
        if out:
            await emit(Chunk(bytes(out), chunk.stamp))

    def _fires(self, run: ToxicRun, name: bytes) -> bool:
        toxic = run.toxic
        commands = toxic.attributes["commands"]
        if commands and name.decode(errors="replace") not in commands:
            return False
        count = toxic.attributes["count"]
        if count and toxic.fired >= count:
            return False
        if run.link.rng.random() >= toxic.toxicity:
            return False
        toxic.fired += 1
        return True

    def _swap(self, run: ToxicRun) -> bytes:
        token = b"chaos-redis-error-%016x" % run.link.rng.getrandbits(64)
        error = redis_error_reply(run.toxic.attributes["error"])
        run.link.connection.expect_reply(bulk_reply(token), error)
        return encode_command(b"ECHO", token)


class ReplyRewriter(Passthrough):
    """Internal, on the server-to-client link: swaps each expected echo reply for its error."""

    async def pipe(self, run: ToxicRun, chunk: Chunk | None, emit: Emit) -> None:
        expected: deque[tuple[bytes, bytes]] = run.state.setdefault("expected", deque())
        tail: bytes = run.state.get("tail", b"")
        if chunk is None:
            if tail:
                await emit(Chunk(tail, now()))
            await emit(None)
            return
        data = tail + chunk.data
        out = bytearray()
        start = 0
        while expected:
            marker, error = expected[0]
            found = data.find(marker, start)
            if found < 0:
                break
            out += data[start:found]
            out += error
            start = found + len(marker)
            expected.popleft()
        rest = data[start:]
        keep = _prefix_overlap(rest, expected[0][0]) if expected else 0
        out += rest[: len(rest) - keep]
        run.state["tail"] = rest[len(rest) - keep :]
        if not expected and not keep:
            run.active = False
        if out:
            await emit(Chunk(bytes(out), chunk.stamp))


def _prefix_overlap(data: bytes, marker: bytes) -> int:
    """Length of the longest end of ``data`` that is a start of ``marker``."""
    for length in range(min(len(data), len(marker) - 1), 0, -1):
        if marker.startswith(data[-length:]):
            return length
    return 0


BEHAVIOURS: dict[str, Passthrough] = {
    "noop": Passthrough(),
    "latency": Latency(),
    "bandwidth": Bandwidth(),
    "slow_close": SlowClose(),
    "timeout": Timeout(),
    "reset_peer": ResetPeer(),
    "slicer": Slicer(),
    "limit_data": LimitData(),
    "redis_error": RedisError(),
}
REPLY_REWRITER = ReplyRewriter()
