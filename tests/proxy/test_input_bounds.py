"""Hostile bodies get Toxiproxy's error shape, never a 500 or aiohttp's plain text (issue 17 item 6).

Toxiproxy's clients decode ``{"error":..,"status":..}`` from every non-2xx reply (the Go client
reports a decode error otherwise), so the shape matters as much as the status.
"""

from __future__ import annotations

import json
import socket
import time

import pytest

from chaos.proxy import ProxyServer, ToxiproxyClient
from chaos.proxy.body import MAX_BODY_BYTES, MAX_DEPTH
from chaos.proxy.model import INT64_MAX
from tests.proxy.conftest import EchoServer, connect, recv_exactly
from tests.proxy.http_calls import Reply, call


def assert_toxiproxy_error(reply: Reply, status: int, *words: str) -> str:
    assert reply.status == status, reply.body[:300]
    assert reply.headers["content-type"] == "text/plain; charset=utf-8"
    assert reply.body.endswith(b"}\n")
    payload = reply.json()
    assert set(payload) == {"error", "status"} and payload["status"] == status
    for word in words:
        assert word in payload["error"]
    return str(payload["error"])


@pytest.fixture
def api(toxiproxy: ToxiproxyClient, proxy_server: ProxyServer) -> str:
    return proxy_server.api_url


def test_a_body_nested_100000_deep_is_a_400_in_toxiproxys_shape(api: str) -> None:
    started = time.monotonic()
    reply = call(api, "POST", "/proxies", raw=b"[" * 100_000 + b"]" * 100_000)
    message = assert_toxiproxy_error(reply, 400, "bad request body", "max depth")
    assert message.startswith("bad request body: ")
    assert time.monotonic() - started < 2.0  # generous: the check is a linear scan of 200 KB


@pytest.mark.parametrize(
    "path", ["/proxies", "/proxies/deep", "/proxies/deep/toxics", "/proxies/deep/toxics/t", "/seed"]
)
def test_deep_nesting_is_refused_on_every_body_taking_route(api: str, path: str) -> None:
    call(api, "POST", "/proxies", {"name": "deep", "upstream": "127.0.0.1:9"})
    call(api, "POST", "/proxies/deep/toxics", {"name": "t", "type": "latency"})
    raw = b'{"attributes":' * 5000 + b"{}" + b"}" * 5000
    assert_toxiproxy_error(call(api, "POST", path, raw=raw), 400, "max depth")


def test_nesting_within_the_limit_and_brackets_in_strings_are_fine(api: str) -> None:
    name = "[[[[" * 200
    reply = call(api, "POST", "/proxies", {"name": name, "upstream": "127.0.0.1:9"})
    assert reply.status == 201 and reply.json()["name"] == name
    attributes: object = {"latency": 5}
    for _ in range(MAX_DEPTH - 3):  # body -> attributes -> this chain, all ignored keys
        attributes = {"unknown": attributes}
    reply = call(api, "POST", "/proxies/" + name + "/toxics", {"type": "noop", "x": attributes})
    assert reply.status == 200, reply.body


def test_populate_refuses_deep_nesting_with_its_own_shape(api: str) -> None:
    reply = call(api, "POST", "/populate", raw=b"[" * 100_000)
    assert reply.status == 400
    payload = reply.json()
    assert payload["proxies"] is None and "max depth" in payload["error"]


@pytest.mark.parametrize(
    ("attribute", "number"),
    [
        ("latency", "1e300"),
        ("latency", str(INT64_MAX + 1)),
        ("jitter", "1e19"),
        ("latency", "9" * 5000),  # past Python's int() digit limit: was a ValueError, a 500
    ],
    ids=["1e300", "int64+1", "jitter-1e19", "5000-digits"],
)
def test_numbers_past_int64_are_a_400_that_names_the_field(
    api: str, attribute: str, number: str
) -> None:
    call(api, "POST", "/proxies", {"name": "big", "upstream": "127.0.0.1:9"})
    raw = f'{{"type":"latency","attributes":{{"{attribute}":{number}}}}}'.encode()
    reply = call(api, "POST", "/proxies/big/toxics", raw=raw)
    message = assert_toxiproxy_error(reply, 400, "bad request body")
    if len(number) < 100:
        assert repr(attribute) in message and "int64" in message
    assert call(api, "GET", "/proxies/big/toxics").json() == []


def test_an_update_past_int64_keeps_the_toxic_as_it_was(api: str) -> None:
    call(api, "POST", "/proxies", {"name": "big", "upstream": "127.0.0.1:9"})
    call(api, "POST", "/proxies/big/toxics", {"type": "latency", "attributes": {"latency": 7}})
    reply = call(
        api, "PATCH", "/proxies/big/toxics/latency_downstream", raw=b'{"attributes":{"latency":1e300}}'
    )
    assert_toxiproxy_error(reply, 400, "'latency'", "int64")
    toxic = call(api, "GET", "/proxies/big/toxics/latency_downstream").json()
    assert toxic["attributes"] == {"latency": 7, "jitter": 0}


@pytest.mark.parametrize("raw", [b'{"type":"noop","toxicity":1e300}', b'{"type":"noop","toxicity":-1e39}'])
def test_toxicity_past_float32_is_a_400(api: str, raw: bytes) -> None:
    call(api, "POST", "/proxies", {"name": "big", "upstream": "127.0.0.1:9"})
    assert_toxiproxy_error(call(api, "POST", "/proxies/big/toxics", raw=raw), 400, "toxicity")


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_json_constants_are_a_400(api: str, constant: bytes) -> None:
    call(api, "POST", "/proxies", {"name": "big", "upstream": "127.0.0.1:9"})
    raw = b'{"type":"latency","attributes":{"latency":%s}}' % constant
    assert_toxiproxy_error(call(api, "POST", "/proxies/big/toxics", raw=raw), 400, "bad request body")


def test_the_largest_int64_latency_holds_data_until_the_toxic_goes(
    api: str, toxiproxy: ToxiproxyClient, echo_server: EchoServer
) -> None:
    """The bound is the largest value the data path must live with: it holds, nothing crashes."""
    proxy = toxiproxy.create_proxy("held", echo_server.address)
    reply = call(
        api, "POST", "/proxies/held/toxics", {"type": "latency", "attributes": {"latency": INT64_MAX}}
    )
    assert reply.status == 200 and reply.json()["attributes"]["latency"] == INT64_MAX
    with connect(proxy) as sock:
        sock.sendall(b"ping")
        sock.settimeout(0.2)
        with pytest.raises(socket.timeout):
            sock.recv(4)  # held: well within the 2**63 ms
        assert call(api, "DELETE", "/proxies/held/toxics/latency_downstream").status == 204
        sock.settimeout(5)
        assert recv_exactly(sock, 4) == b"ping"


def send_raw(api: str, head: bytes, body_size: int) -> bytes:
    """Send a request of ``body_size`` bytes, as much as the server takes; its whole reply."""
    host, port = api.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head)
        chunk = b"x" * 65536
        sent = 0
        try:
            while sent < body_size:
                sent += sock.send(chunk[: body_size - sent])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before the whole body went
        sock.shutdown(socket.SHUT_WR)
        reply = bytearray()
        while True:
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            reply += data
    return bytes(reply)


@pytest.mark.parametrize("path", ["/proxies", "/populate", "/reset", "/proxies/x/toxics"])
def test_an_oversized_body_is_a_413_in_toxiproxys_shape(api: str, path: str) -> None:
    # The proxy must exist, or the route answers 404 before reading the body (as Toxiproxy does).
    call(api, "POST", "/proxies", {"name": "x", "upstream": "127.0.0.1:9"})
    size = 10 * 1024 * 1024
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\n"
        "Content-Type: application/json\r\n\r\n"
    ).encode()
    reply = send_raw(api, head, size)
    status_line, _, rest = reply.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 413"), reply[:300]
    headers, _, body = rest.partition(b"\r\n\r\n")
    payload = json.loads(body)
    assert payload["status"] == 413 and "too large" in payload["error"]
    assert str(MAX_BODY_BYTES) in payload["error"]
    if path == "/populate":
        assert payload["proxies"] is None
    else:
        assert b"text/plain; charset=utf-8" in headers.lower()


def test_a_body_at_the_limit_is_read(api: str) -> None:
    padding = " " * (MAX_BODY_BYTES - 100)
    raw = ('{"name":"edge","upstream":"127.0.0.1:9"' + padding + "}").encode()
    assert len(raw) <= MAX_BODY_BYTES
    assert call(api, "POST", "/proxies", raw=raw).status == 201
