"""Adding, updating and removing toxics, and disabling a proxy, act on live connections."""

from __future__ import annotations

import socket
import time

import pytest

from chaos.proxy import ProxyHandle

from .conftest import connect, recv_exactly


def _round_trip(sock: socket.socket) -> float:
    started = time.perf_counter()
    sock.sendall(b"ping")
    assert recv_exactly(sock, 4) == b"ping"
    return time.perf_counter() - started


def test_latency_added_and_removed_on_a_live_connection(echo_proxy: ProxyHandle) -> None:
    with connect(echo_proxy) as sock:
        assert _round_trip(sock) < 0.04
        with echo_proxy.toxic("latency", latency=60):
            assert _round_trip(sock) >= 0.059
        assert _round_trip(sock) < 0.04


def test_removing_a_toxic_releases_what_it_held_without_loss(echo_proxy: ProxyHandle) -> None:
    with connect(echo_proxy) as sock:
        echo_proxy.add_toxic("latency", name="slow", latency=5000)
        started = time.perf_counter()
        sock.sendall(b"first")
        sock.sendall(b"second")
        # Both chunks are now held (or on their way to the toxic); removing it lets them go.
        echo_proxy.remove_toxic("slow")
        assert recv_exactly(sock, 11) == b"firstsecond"
        assert time.perf_counter() - started < 2.0


def test_updating_latency_applies_at_once(echo_proxy: ProxyHandle) -> None:
    with connect(echo_proxy) as sock:
        echo_proxy.add_toxic("latency", name="slow", latency=5000)
        started = time.perf_counter()
        sock.sendall(b"ping")
        echo_proxy.update_toxic("slow", latency=0)
        assert recv_exactly(sock, 4) == b"ping"
        assert time.perf_counter() - started < 2.0
        assert _round_trip(sock) < 0.04


def test_limit_data_counts_across_updates(echo_proxy: ProxyHandle) -> None:
    with connect(echo_proxy) as sock:
        echo_proxy.add_toxic("limit_data", name="limit", bytes=100)
        sock.sendall(b"a" * 6)
        assert recv_exactly(sock, 6) == b"a" * 6
        echo_proxy.update_toxic("limit", bytes=8)
        sock.sendall(b"b" * 6)
        assert recv_exactly(sock, 10) == b"bb"  # 6 + 2 = 8 bytes in all, then EOF


def test_toxicity_update_redraws(echo_proxy: ProxyHandle) -> None:
    with connect(echo_proxy) as sock:
        echo_proxy.add_toxic("latency", name="maybe", latency=60, toxicity=0.0)
        assert _round_trip(sock) < 0.04
        echo_proxy.update_toxic("maybe", toxicity=1.0)
        assert _round_trip(sock) >= 0.059


def test_disable_closes_live_connections_and_refuses_new_ones(echo_proxy: ProxyHandle) -> None:
    with connect(echo_proxy) as sock:
        _round_trip(sock)
        echo_proxy.disable()
        assert sock.recv(10) == b""
    with pytest.raises(ConnectionRefusedError):
        connect(echo_proxy)
    echo_proxy.enable()
    with connect(echo_proxy) as sock:
        _round_trip(sock)


def test_listen_change_moves_the_proxy(echo_proxy: ProxyHandle) -> None:
    old_port = echo_proxy.listen_port
    with connect(echo_proxy) as sock:
        echo_proxy.update(listen="127.0.0.1:0")
        assert sock.recv(10) == b""  # live connections are closed by the move
    assert echo_proxy.listen_port != old_port
    with connect(echo_proxy) as sock:
        _round_trip(sock)


def test_toxic_context_manager_removes_on_error(echo_proxy: ProxyHandle) -> None:
    with pytest.raises(RuntimeError), echo_proxy.toxic("latency", latency=10) as toxic:
        assert toxic.name == "latency_downstream"
        raise RuntimeError("the block failed")
    assert echo_proxy.toxics() == []


def test_handle_reset_removes_toxics_and_enables(echo_proxy: ProxyHandle) -> None:
    echo_proxy.add_toxic("latency", latency=10)
    echo_proxy.add_toxic("slicer", stream="upstream")
    echo_proxy.disable()
    echo_proxy.reset()
    assert echo_proxy.enabled and echo_proxy.toxics() == []


def test_unreachable_upstream_accepts_then_closes(toxiproxy) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    proxy = toxiproxy.create_proxy("nowhere", f"127.0.0.1:{port}")
    with connect(proxy) as sock:
        assert sock.recv(10) == b""
