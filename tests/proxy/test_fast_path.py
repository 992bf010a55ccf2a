"""The no-toxic fast path hands reads straight to the other socket's ``write``; every toxic still
acts on a connection that was on it, and the connection goes back to it, losing nothing."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import pytest
import redis

from chaos.proxy import ProxyHandle, ProxyServer, ToxiproxyClient

from .conftest import connect, recv_exactly, wait_for


def _round_trip(sock: socket.socket, payload: bytes = b"ping") -> float:
    started = time.perf_counter()
    sock.sendall(payload)
    assert recv_exactly(sock, len(payload)) == payload
    return time.perf_counter() - started


def _read_until_closed(sock: socket.socket) -> bytes:
    received = bytearray()
    while chunk := sock.recv(65536):
        received += chunk
    return bytes(received)


def _wait_fast_links(server: ProxyServer, count: int) -> None:
    wait_for(lambda: server.census()["fast_links"] == count, 5, f"{count} links on the fast path")


def _fast_connection(server: ProxyServer, proxy: ProxyHandle) -> socket.socket:
    """A connection that has carried data with no toxic: both links are on the fast path."""
    sock = connect(proxy)
    _round_trip(sock)
    _wait_fast_links(server, 2)
    return sock


def test_a_connection_without_toxics_is_on_the_fast_path(
    proxy_server: ProxyServer, echo_proxy: ProxyHandle
) -> None:
    with _fast_connection(proxy_server, echo_proxy) as sock:
        payload = bytes(range(256)) * 4096  # 1 MiB: many reads, flow control on the fast path
        sock.sendall(payload[:1])
        assert recv_exactly(sock, 1) == payload[:1]
        assert _round_trip(sock, payload) >= 0
        assert proxy_server.census()["fast_links"] == 2


def _latency(sock: socket.socket) -> None:
    assert _round_trip(sock) >= 0.060  # never early: the latency counts from the read


def _stalls_then_delivers(sock: socket.socket, remove: Callable[[], None]) -> None:
    sock.settimeout(0.3)
    sock.sendall(b"held")
    with pytest.raises(TimeoutError):
        sock.recv(10)
    remove()
    sock.settimeout(5)
    assert recv_exactly(sock, 4) == b"held"


def _sliced(sock: socket.socket) -> None:
    payload = bytes(range(256)) * 16
    assert _round_trip(sock, payload) >= 0


# (type, attributes, stream, what the toxic does to a connection that was on the fast path,
#  whether the connection survives the toxic's removal)
SURVIVING_TOXICS = [
    ("latency", {"latency": 60}, "downstream", _latency),
    ("latency", {"latency": 60}, "upstream", _latency),
    ("slicer", {"average_size": 8, "size_variation": 4, "delay": 100}, "downstream", _sliced),
    ("noop", {}, "upstream", lambda sock: _round_trip(sock)),
]


@pytest.mark.parametrize(
    ("toxic_type", "attributes", "stream", "effect"),
    SURVIVING_TOXICS,
    ids=[f"{row[0]}-{row[2]}" for row in SURVIVING_TOXICS],
)
def test_toxic_acts_on_a_fast_connection_which_returns_to_the_fast_path(
    proxy_server: ProxyServer,
    echo_proxy: ProxyHandle,
    toxic_type: str,
    attributes: dict[str, int],
    stream: str,
    effect: Callable[[socket.socket], None],
) -> None:
    with _fast_connection(proxy_server, echo_proxy) as sock:
        with echo_proxy.toxic(toxic_type, stream=stream, **attributes):
            _wait_fast_links(proxy_server, 1)
            effect(sock)
        _wait_fast_links(proxy_server, 2)
        assert _round_trip(sock, b"after") < 1.0


@pytest.mark.parametrize("stream", ["upstream", "downstream"])
def test_bandwidth_zero_stalls_a_fast_connection_and_removal_loses_nothing(
    proxy_server: ProxyServer, echo_proxy: ProxyHandle, stream: str
) -> None:
    with _fast_connection(proxy_server, echo_proxy) as sock:
        echo_proxy.add_toxic("bandwidth", name="stall", stream=stream, rate=0)
        _wait_fast_links(proxy_server, 1)
        _stalls_then_delivers(sock, lambda: echo_proxy.remove_toxic("stall"))
        _wait_fast_links(proxy_server, 2)
        assert _round_trip(sock) < 1.0


def test_timeout_zero_holds_a_fast_connection_and_removal_closes_it(
    proxy_server: ProxyServer, echo_proxy: ProxyHandle
) -> None:
    with _fast_connection(proxy_server, echo_proxy) as sock:
        echo_proxy.add_toxic("timeout", name="hold", timeout=0)
        sock.settimeout(0.3)
        sock.sendall(b"lost")
        with pytest.raises(TimeoutError):
            sock.recv(10)
        echo_proxy.remove_toxic("hold")
        sock.settimeout(5)
        assert _read_until_closed(sock) == b""
    _wait_fast_links(proxy_server, 0)


def test_timeout_closes_a_fast_connection_after_its_time(
    proxy_server: ProxyServer, echo_proxy: ProxyHandle
) -> None:
    with (
        _fast_connection(proxy_server, echo_proxy) as sock,
        echo_proxy.toxic("timeout", timeout=100),
    ):
        started = time.perf_counter()
        sock.sendall(b"lost")
        assert _read_until_closed(sock) == b""
        assert time.perf_counter() - started >= 0.099  # never early; no upper bound needed


def test_limit_data_closes_a_fast_connection_after_n_bytes(
    proxy_server: ProxyServer, echo_proxy: ProxyHandle
) -> None:
    with (
        _fast_connection(proxy_server, echo_proxy) as sock,
        echo_proxy.toxic("limit_data", bytes=3),
    ):
        sock.sendall(b"hello")
        assert _read_until_closed(sock) == b"hel"


def test_reset_peer_on_a_fast_connection_closes_it(
    proxy_server: ProxyServer, echo_proxy: ProxyHandle
) -> None:
    with (
        _fast_connection(proxy_server, echo_proxy) as sock,
        echo_proxy.toxic("reset_peer", timeout=0),
    ):
        sock.sendall(b"anything")
        assert _read_until_closed(sock) == b""  # a FIN: opened before the toxic existed


def test_disable_closes_a_fast_connection(
    proxy_server: ProxyServer, echo_proxy: ProxyHandle
) -> None:
    with _fast_connection(proxy_server, echo_proxy) as sock:
        echo_proxy.disable()
        assert _read_until_closed(sock) == b""
    _wait_fast_links(proxy_server, 0)


def test_redis_error_acts_on_a_fast_redis_connection(
    proxy_server: ProxyServer, toxiproxy: ToxiproxyClient, redis_port: int
) -> None:
    proxy = toxiproxy.create_proxy("redis-fast", f"127.0.0.1:{redis_port}")
    client = redis.Redis(port=proxy.listen_port, socket_timeout=5, retry=None)
    try:
        assert client.ping()
        _wait_fast_links(proxy_server, 2)
        with proxy.toxic("redis_error", error="OOM", commands=["LPUSH"]):
            with pytest.raises(redis.exceptions.OutOfMemoryError):
                client.lpush("chaos:fast", "x")
            assert client.ping()
        _wait_fast_links(proxy_server, 2)
        client.delete("chaos:fast")
        assert client.lpush("chaos:fast", "x") == 1
    finally:
        client.close()
