"""The unchanged ``toxiproxy-python`` client (0.1.1) against the project's server.

That client is configured only through the class attributes ``APIConsumer.host``/``port``; the
fixture sets them and puts them back.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from toxiproxy import Toxiproxy
from toxiproxy.api import APIConsumer
from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists

from chaos.proxy import ProxyServer, ToxiproxyClient

from .conftest import EchoServer, recv_exactly


@pytest.fixture
def shopify(proxy_server: ProxyServer, toxiproxy: ToxiproxyClient) -> Iterator[Toxiproxy]:
    saved = APIConsumer.host, APIConsumer.port
    host, port = proxy_server.address.rsplit(":", 1)
    server = Toxiproxy()
    server.update_api_consumer(host, int(port))
    try:
        yield server
    finally:
        APIConsumer.host, APIConsumer.port = saved


def test_running_and_version(shopify: Toxiproxy) -> None:
    assert shopify.running()
    assert shopify.version() == b'{"version": "2.12.0"}\n'


def test_create_list_get_destroy(shopify: Toxiproxy, echo_server: EchoServer) -> None:
    proxy = shopify.create(upstream=echo_server.address, name="echo")
    host, port = proxy.listen.split(":")
    assert host == "127.0.0.1" and int(port) > 0
    assert proxy.enabled is True and proxy.upstream == echo_server.address
    assert list(shopify.proxies()) == ["echo"]
    assert shopify.get_proxy("echo").listen == proxy.listen
    with pytest.raises(ProxyExists):
        shopify.create(upstream=echo_server.address, name="echo")
    assert shopify.destroy(proxy) is True
    assert shopify.get_proxy("echo") is None
    with pytest.raises(NotFound):
        proxy.destroy()
    assert shopify.destroy("echo") is False  # this client ignores a name given as a string


def test_proxy_created_disabled(shopify: Toxiproxy) -> None:
    proxy = shopify.create(upstream="127.0.0.1:1", name="off", enabled=False)
    assert proxy.enabled is False


def test_traffic_flows_through_and_down_cuts_it(
    shopify: Toxiproxy, echo_server: EchoServer
) -> None:
    proxy = shopify.create(upstream=echo_server.address, name="echo")
    host, port = proxy.listen.split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"ping")
        assert recv_exactly(sock, 4) == b"ping"
    with proxy.down():
        assert shopify.get_proxy("echo").enabled is False
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((host, int(port)), timeout=5)
    assert shopify.get_proxy("echo").enabled is True


def test_toxics_add_list_get_destroy(shopify: Toxiproxy) -> None:
    proxy = shopify.create(upstream="127.0.0.1:1", name="p")
    assert proxy.add_toxic(type="latency", attributes={"latency": 100}) is None
    proxy.add_toxic(
        type="bandwidth", stream="upstream", name="slow", toxicity=0.5, attributes={"rate": 10}
    )
    toxics = proxy.toxics()
    assert sorted(toxics) == ["latency_downstream", "slow"]
    slow = proxy.get_toxic("slow")
    assert (slow.type, slow.stream, slow.toxicity, slow.attributes) == (
        "bandwidth",
        "upstream",
        0.5,
        {"rate": 10},
    )
    assert proxy.get_toxic("nope") is None
    assert proxy.destroy_toxic("slow") is True
    with pytest.raises(NotFound):
        proxy.destroy_toxic("slow")
    assert list(proxy.toxics()) == ["latency_downstream"]


def test_bad_toxics_raise_invalid_toxic(shopify: Toxiproxy) -> None:
    proxy = shopify.create(upstream="127.0.0.1:1", name="p")
    with pytest.raises(InvalidToxic):
        proxy.add_toxic(type="down")
    with pytest.raises(InvalidToxic):
        proxy.add_toxic(type="latency", attributes={"latency": -1})
    with pytest.raises(ProxyExists):
        proxy.add_toxic(type="latency")
        proxy.add_toxic(type="latency")


def test_unknown_proxy_raises_not_found(shopify: Toxiproxy) -> None:
    proxy = shopify.create(upstream="127.0.0.1:1", name="p")
    proxy.destroy()
    with pytest.raises(NotFound):
        proxy.toxics()
    with pytest.raises(NotFound):
        proxy.disable()


def test_reset_and_populate(shopify: Toxiproxy) -> None:
    proxy = shopify.create(upstream="127.0.0.1:1", name="p")
    proxy.add_toxic(type="latency")
    proxy.disable()
    assert shopify.reset() is True
    fresh = shopify.get_proxy("p")
    assert fresh.enabled is True and fresh.toxics() == {}
    created = shopify.populate(
        [
            {"name": "p", "upstream": "127.0.0.1:1", "listen": fresh.listen},
            {"name": "q", "upstream": "127.0.0.1:2", "listen": "127.0.0.1:0"},
        ]
    )
    assert [p.name for p in created] == ["q"]  # p had the same listen and upstream: kept
    shopify.destroy_all()
    assert shopify.proxies() == {}
