"""Each toxic's effect measured on real sockets, through an echo server or a closing server."""

from __future__ import annotations

import errno
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from chaos.proxy import ProxyHandle, ProxyServer, ToxiproxyClient

from .conftest import EchoServer, connect, recv_exactly


def _round_trip(sock: socket.socket, payload: bytes = b"x" * 16) -> float:
    started = time.perf_counter()
    sock.sendall(payload)
    assert recv_exactly(sock, len(payload)) == payload
    return time.perf_counter() - started


def _fastest_round_trip(sock: socket.socket, times: int = 7) -> float:
    """The minimum of several round trips: load from other processes only ever adds delay, so
    the fastest one is the best view of what the proxy itself does."""
    return min(_round_trip(sock) for _ in range(times))


def _read_until_closed(sock: socket.socket, limit: int = 10_000_000) -> bytes:
    received = bytearray()
    while len(received) < limit:
        chunk = sock.recv(65536)
        if not chunk:
            break
        received += chunk
    return bytes(received)


class ByeServer:
    """Sends ``bye`` and closes each connection at once."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.address = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn:
                conn.sendall(b"bye")

    def close(self) -> None:
        self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self._thread.join(5)


@pytest.fixture
def bye_server() -> Iterator[ByeServer]:
    server = ByeServer()
    try:
        yield server
    finally:
        server.close()


def test_latency_adds_its_delay_within_2_ms(echo_proxy: ProxyHandle) -> None:
    with connect(echo_proxy) as sock:
        baseline = _fastest_round_trip(sock)
        with echo_proxy.toxic("latency", latency=100):
            delayed = _fastest_round_trip(sock, 5)
    # The bound: 100 ms within 2 ms. Never early (the toxic waits on the loop clock until
    # read time + latency); at most 2 ms late for the fastest of 5 on a loaded 2-core machine.
    assert delayed >= 0.100
    assert abs((delayed - baseline) - 0.100) <= 0.002, delayed - baseline


def test_latency_on_both_streams_adds_up(echo_proxy: ProxyHandle) -> None:
    with connect(echo_proxy) as sock:
        baseline = _fastest_round_trip(sock, 3)
        with (
            echo_proxy.toxic("latency", latency=20),
            echo_proxy.toxic("latency", stream="upstream", latency=30),
        ):
            delayed = _fastest_round_trip(sock, 5)
    assert delayed >= 0.050  # the two delays add up: never less than their sum
    # and do not compound: 10 ms of slack for scheduling on a loaded 2-core machine.
    assert delayed - baseline <= 0.060


def test_jitter_stays_within_its_range(echo_proxy: ProxyHandle) -> None:
    with connect(echo_proxy) as sock:
        baseline = _fastest_round_trip(sock, 3)
        with echo_proxy.toxic("latency", latency=30, jitter=10):
            delays = [_round_trip(sock) - baseline for _ in range(10)]
    # [20, 40) ms, with 1 ms below for the baseline's own noise and 10 ms above for load.
    assert all(0.019 <= delay <= 0.050 for delay in delays), delays
    assert max(delays) - min(delays) > 0.002  # it does vary


def test_bandwidth_paces_within_10_percent(echo_proxy: ProxyHandle) -> None:
    payload = bytes(range(256)) * 2000  # 512 000 bytes
    rate_kb = 1000  # 1000 KB/s: 512 ms for the payload, long against the fixed costs
    with echo_proxy.toxic("bandwidth", rate=rate_kb), connect(echo_proxy) as sock:
        started = time.perf_counter()
        sender = threading.Thread(target=sock.sendall, args=(payload,))
        sender.start()
        received = recv_exactly(sock, len(payload))
        elapsed = time.perf_counter() - started
        sender.join(5)
    assert received == payload
    expected = len(payload) / (rate_kb * 1000)
    # The bound: within 10 %. The fixed cost (two loopback hops, the echo thread) is a
    # few ms of the 512.
    assert abs(elapsed - expected) <= 0.1 * expected, (elapsed, expected)


def test_bandwidth_rate_zero_stalls_until_removed(echo_proxy: ProxyHandle) -> None:
    with connect(echo_proxy, timeout=0.3) as sock:
        with echo_proxy.toxic("bandwidth", rate=0):
            sock.sendall(b"held")
            with pytest.raises(TimeoutError):
                sock.recv(10)
        sock.settimeout(5)
        assert recv_exactly(sock, 4) == b"held"  # nothing lost when the toxic goes


def test_timeout_drops_data_then_closes_after_its_time(echo_proxy: ProxyHandle) -> None:
    with echo_proxy.toxic("timeout", timeout=200), connect(echo_proxy) as sock:
        started = time.perf_counter()
        sock.sendall(b"lost")
        assert _read_until_closed(sock) == b""
        elapsed = time.perf_counter() - started
    assert 0.195 <= elapsed <= 0.4, elapsed  # timer from the connection start; slack for load


def test_timeout_zero_holds_until_removed_and_removal_closes(echo_proxy: ProxyHandle) -> None:
    with connect(echo_proxy, timeout=0.3) as sock:
        echo_proxy.add_toxic("timeout", name="hold", timeout=0)
        sock.sendall(b"lost")
        with pytest.raises(TimeoutError):
            sock.recv(10)
        echo_proxy.remove_toxic("hold")
        sock.settimeout(5)
        assert _read_until_closed(sock) == b""


def test_reset_peer_gives_econnreset(echo_proxy: ProxyHandle) -> None:
    with echo_proxy.toxic("reset_peer", timeout=0), connect(echo_proxy) as sock:
        sock.sendall(b"anything")
        with pytest.raises(ConnectionResetError) as caught:
            _read_until_closed(sock)
    assert caught.value.errno == errno.ECONNRESET


def test_reset_peer_waits_its_timeout(echo_proxy: ProxyHandle) -> None:
    with echo_proxy.toxic("reset_peer", timeout=100), connect(echo_proxy) as sock:
        started = time.perf_counter()
        sock.sendall(b"anything")
        with pytest.raises(ConnectionResetError):
            _read_until_closed(sock)
        assert 0.099 <= time.perf_counter() - started <= 0.3


def test_reset_peer_added_to_a_live_connection_closes_with_fin(echo_proxy: ProxyHandle) -> None:
    with connect(echo_proxy) as sock:
        _round_trip(sock)
        with echo_proxy.toxic("reset_peer", timeout=0):
            sock.sendall(b"anything")
            assert _read_until_closed(sock) == b""  # EOF, not an RST (Toxiproxy's rule)


def test_limit_data_delivers_exactly_n_bytes_then_closes(echo_proxy: ProxyHandle) -> None:
    with echo_proxy.toxic("limit_data", bytes=1000), connect(echo_proxy) as sock:
        sock.sendall(b"a" * 600)
        assert recv_exactly(sock, 600) == b"a" * 600
        sock.sendall(b"b" * 600)
        assert _read_until_closed(sock) == b"b" * 400


def test_limit_data_zero_closes_on_the_first_chunk(echo_proxy: ProxyHandle) -> None:
    with echo_proxy.toxic("limit_data", stream="upstream", bytes=0), connect(echo_proxy) as sock:
        sock.sendall(b"x")
        assert _read_until_closed(sock) == b""


def test_slicer_delivers_the_same_bytes_in_pieces(echo_proxy: ProxyHandle) -> None:
    payload = bytes(range(256)) * 8
    with (
        echo_proxy.toxic("slicer", average_size=64, size_variation=16, delay=2000),
        connect(echo_proxy) as sock,
    ):
        sock.sendall(payload)
        pieces = []
        while sum(map(len, pieces)) < len(payload):
            pieces.append(sock.recv(65536))
    assert b"".join(pieces) == payload
    # 2 ms between pieces of about 64 bytes: the reader sees many separate reads.
    assert len(pieces) >= 8, [len(piece) for piece in pieces]
    assert max(map(len, pieces)) < len(payload)


def test_slow_close_holds_the_close_back(
    echo_proxy: ProxyHandle, bye_server: ByeServer, toxiproxy: ToxiproxyClient
) -> None:
    proxy = toxiproxy.create_proxy("bye", bye_server.address)
    with proxy.toxic("slow_close", delay=200), connect(proxy) as sock:
        started = time.perf_counter()
        assert _read_until_closed(sock) == b"bye"
        elapsed = time.perf_counter() - started
    assert 0.195 <= elapsed <= 0.4, elapsed


def test_noop_passes_data(echo_proxy: ProxyHandle) -> None:
    with echo_proxy.toxic("noop"), connect(echo_proxy) as sock:
        assert recv_exactly(sock, 0) == b""
        sock.sendall(b"hello")
        assert recv_exactly(sock, 5) == b"hello"


def test_toxicity_zero_never_applies(echo_proxy: ProxyHandle) -> None:
    with echo_proxy.toxic("timeout", timeout=0, toxicity=0.0), connect(echo_proxy) as sock:
        assert _round_trip(sock) < 0.5


def _draw_pattern(server: ProxyServer, echo: EchoServer) -> list[bool]:
    """Which of 12 connections a toxicity-0.5 toxic hit (limit_data 0 closes hit ones)."""
    client = ToxiproxyClient(server.api_url)
    proxy = client.create_proxy("drawn", echo.address)
    proxy.add_toxic("limit_data", bytes=0, toxicity=0.5)
    hits = []
    try:
        for _ in range(12):
            with connect(proxy) as sock:
                sock.sendall(b"x")
                hits.append(_read_until_closed(sock, 1) == b"")
    finally:
        proxy.delete()
    return hits


def test_toxicity_draws_replay_with_the_same_seed(echo_server: EchoServer) -> None:
    with ProxyServer(seed=42) as first, ProxyServer(seed=42) as second:
        pattern = _draw_pattern(first, echo_server)
        assert _draw_pattern(second, echo_server) == pattern
        assert True in pattern and False in pattern
        client = ToxiproxyClient(second.api_url)
        client.request("POST", "/seed", {"seed": 42})  # counts from connection 0 again
        assert _draw_pattern(second, echo_server) == pattern


def test_chained_toxics_apply_in_order(echo_proxy: ProxyHandle) -> None:
    # limit_data first, then latency: the 5 bytes that pass are late, then the close follows.
    echo_proxy.add_toxic("limit_data", name="limit", bytes=5)
    echo_proxy.add_toxic("latency", name="late", latency=50)
    with connect(echo_proxy) as sock:
        started = time.perf_counter()
        sock.sendall(b"0123456789")
        assert _read_until_closed(sock) == b"01234"
        assert time.perf_counter() - started >= 0.049
