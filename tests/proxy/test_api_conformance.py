"""Every endpoint of Toxiproxy 2.12's API over raw HTTP: status codes, JSON shapes, error bodies."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from chaos.proxy import ProxyServer, ToxiproxyClient

from .http_calls import Reply, call


@pytest.fixture
def api(proxy_server: ProxyServer, toxiproxy: ToxiproxyClient) -> Iterator[str]:
    yield proxy_server.api_url


def _is_error(reply: Reply, status: int, message_start: str) -> None:
    assert reply.status == status
    assert reply.headers["content-type"] == "text/plain; charset=utf-8"
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.body.endswith(b"}\n")
    payload = reply.json()
    assert set(payload) == {"error", "status"}
    assert payload["status"] == status
    assert payload["error"].startswith(message_start), payload["error"]


def _create(api: str, name: str = "p", upstream: str = "127.0.0.1:1", **extra: object) -> Reply:
    return call(api, "POST", "/proxies", {"name": name, "upstream": upstream, **extra})


# --- /version, /proxies ---------------------------------------------------------------------


def test_version_body_is_byte_exact(api: str) -> None:
    reply = call(api, "GET", "/version")
    assert reply.status == 200
    assert reply.body == b'{"version": "2.12.0"}\n'
    assert reply.headers["content-type"] == "application/json;charset=utf-8"
    assert reply.headers["x-toxiproxy-request-id"]


def test_empty_proxy_list_is_an_empty_object(api: str) -> None:
    reply = call(api, "GET", "/proxies")
    assert (reply.status, reply.body) == (200, b"{}")
    assert reply.headers["content-type"].startswith("application/json")


def test_create_returns_201_with_the_bound_listen(api: str) -> None:
    reply = _create(api, listen="127.0.0.1:0")
    assert reply.status == 201
    assert list(reply.json()) == ["name", "listen", "upstream", "enabled", "toxics"]
    proxy = reply.json()
    assert proxy["listen"].startswith("127.0.0.1:") and not proxy["listen"].endswith(":0")
    assert (proxy["upstream"], proxy["enabled"], proxy["toxics"]) == ("127.0.0.1:1", True, [])
    assert b" " not in reply.body and not reply.body.endswith(b"\n")


def test_localhost_listen_reports_the_resolved_ip(api: str) -> None:
    assert _create(api, listen="localhost:0").json()["listen"].startswith("127.0.0.1:")


def test_created_disabled_proxy_echoes_its_listen(api: str) -> None:
    proxy = _create(api, listen="localhost:0", enabled=False).json()
    assert (proxy["listen"], proxy["enabled"]) == ("localhost:0", False)


def test_list_maps_names_to_proxies(api: str) -> None:
    _create(api, "a")
    _create(api, "b")
    listing = call(api, "GET", "/proxies").json()
    assert sorted(listing) == ["a", "b"]
    assert listing["a"]["name"] == "a"


def test_unknown_json_keys_are_ignored_and_content_type_is_not_checked(api: str) -> None:
    reply = call(
        api,
        "POST",
        "/proxies",
        raw=b'{"name":"p","upstream":"127.0.0.1:1","x":[1]}',
        headers={"Content-Type": "text/weird"},
    )
    assert reply.status == 201


@pytest.mark.parametrize(
    ("body", "raw", "status", "message"),
    [
        (None, b"", 400, "bad request body: EOF"),
        (None, b"{not json", 400, "bad request body: invalid JSON"),
        ({"upstream": "127.0.0.1:1"}, None, 400, "missing required field: name"),
        ({"name": "p"}, None, 400, "missing required field: upstream"),
        ({"upstream": 5, "name": "p"}, None, 400, "bad request body: field 'upstream'"),
        (
            {"name": "p", "upstream": "127.0.0.1:1", "enabled": "yes"},
            None,
            400,
            "bad request body: field 'enabled'",
        ),
        (
            {"name": "p", "upstream": "127.0.0.1:1", "listen": "0.0.0.0:0"},
            None,
            400,
            "listen '0.0.0.0:0' is off loopback: field 'listen'",
        ),
        # Not addressable as /proxies/{name}: refused, where Toxiproxy creates it and then 404s.
        ({"name": "a/b", "upstream": "127.0.0.1:1"}, None, 400, 'invalid proxy name: "a/b"'),
        ({"name": "a\nb", "upstream": "127.0.0.1:1"}, None, 400, "invalid proxy name: \"a\\nb\""),
        (
            {"name": "p", "upstream": "127.0.0.1:1", "listen": "127.0.0.1"},
            None,
            500,
            "listen tcp: address 127.0.0.1: missing port in address",
        ),
    ],
)
def test_create_refuses_bad_input(
    api: str, body: object, raw: bytes | None, status: int, message: str
) -> None:
    _is_error(call(api, "POST", "/proxies", body, raw=raw), status, message)
    assert call(api, "GET", "/proxies").body == b"{}"


def test_duplicate_proxy_name_is_409(api: str) -> None:
    _create(api)
    _is_error(_create(api), 409, "proxy already exists")


def test_taken_listen_address_is_500_and_adds_nothing(api: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        reply = _create(api, listen=f"127.0.0.1:{port}")
    _is_error(reply, 500, f"listen tcp 127.0.0.1:{port}: bind: address already in use")
    assert call(api, "GET", "/proxies").body == b"{}"


# --- /proxies/{name} ------------------------------------------------------------------------


def test_get_update_delete_one_proxy(api: str) -> None:
    created = _create(api).json()
    assert call(api, "GET", "/proxies/p").json() == created
    disabled = call(api, "POST", "/proxies/p", {"enabled": False})
    assert disabled.status == 200 and disabled.json()["enabled"] is False
    assert disabled.json()["listen"] == created["listen"]
    patched = call(api, "PATCH", "/proxies/p", {"upstream": "127.0.0.1:2"})
    assert patched.json()["upstream"] == "127.0.0.1:2"
    deleted = call(api, "DELETE", "/proxies/p")
    assert (deleted.status, deleted.body) == (204, b"")
    _is_error(call(api, "GET", "/proxies/p"), 404, "proxy not found")


def test_proxy_update_ignores_name_and_toxics_as_the_go_client_sends_them(api: str) -> None:
    created = _create(api).json()
    saved = call(api, "POST", "/proxies/p", {**created, "name": "other", "toxics": [{"x": 1}]})
    assert saved.status == 200 and saved.json()["name"] == "p"


def test_proxy_update_to_a_taken_port_is_500_and_leaves_it_disabled(api: str) -> None:
    _create(api)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        reply = call(api, "POST", "/proxies/p", {"listen": f"127.0.0.1:{port}"})
    _is_error(reply, 500, "listen tcp")
    proxy = call(api, "GET", "/proxies/p").json()
    assert (proxy["enabled"], proxy["listen"]) == (False, f"127.0.0.1:{port}")


@pytest.mark.parametrize(
    ("method", "path", "raw", "status", "message"),
    [
        ("GET", "/proxies/nope", None, 404, "proxy not found"),
        ("POST", "/proxies/nope", b"{}", 404, "proxy not found"),
        ("DELETE", "/proxies/nope", None, 404, "proxy not found"),
        ("POST", "/proxies/p", b"", 400, "bad request body: EOF"),
        ("POST", "/proxies/p", b"[1]", 400, "bad request body"),
        ("GET", "/proxies/nope/toxics", None, 404, "proxy not found"),
        ("POST", "/proxies/nope/toxics", b'{"type":"latency"}', 404, "proxy not found"),
        ("GET", "/proxies/p/toxics/nope", None, 404, "toxic not found"),
        ("POST", "/proxies/p/toxics/nope", b"{}", 404, "toxic not found"),
        ("DELETE", "/proxies/p/toxics/nope", None, 404, "toxic not found"),
    ],
)
def test_unknown_names_and_bad_bodies(
    api: str, method: str, path: str, raw: bytes | None, status: int, message: str
) -> None:
    _create(api)
    _is_error(call(api, method, path, raw=raw), status, message)


# --- toxics ---------------------------------------------------------------------------------


def test_toxic_create_defaults_and_shape(api: str) -> None:
    _create(api)
    reply = call(
        api, "POST", "/proxies/p/toxics", {"type": "latency", "attributes": {"latency": 5}}
    )
    assert reply.status == 200
    assert reply.body == (
        b'{"attributes":{"latency":5,"jitter":0},"name":"latency_downstream",'
        b'"type":"latency","stream":"downstream","toxicity":1}'
    )


def test_toxic_stream_is_matched_case_insensitively_and_stored_verbatim(api: str) -> None:
    _create(api)
    toxic = call(api, "POST", "/proxies/p/toxics", {"type": "latency", "stream": "UPSTREAM"}).json()
    assert (toxic["name"], toxic["stream"]) == ("latency_UPSTREAM", "UPSTREAM")


@pytest.mark.parametrize(
    ("type_name", "attributes"),
    [
        ("latency", {"latency": 0, "jitter": 0}),
        ("bandwidth", {"rate": 0}),
        ("slow_close", {"delay": 0}),
        ("timeout", {"timeout": 0}),
        ("reset_peer", {"timeout": 0}),
        ("slicer", {"average_size": 0, "size_variation": 0, "delay": 0}),
        ("limit_data", {"bytes": 0}),
        ("noop", {}),
        ("redis_error", {"error": "OOM", "commands": [], "count": 0}),
    ],
)
def test_every_type_lists_every_attribute_with_defaults(
    api: str, type_name: str, attributes: dict[str, object]
) -> None:
    _create(api)
    toxic = call(api, "POST", "/proxies/p/toxics", {"type": type_name}).json()
    assert toxic["attributes"] == attributes


def test_toxic_list_get_update_delete(api: str) -> None:
    _create(api)
    call(api, "POST", "/proxies/p/toxics", {"type": "latency", "name": "down"})
    call(api, "POST", "/proxies/p/toxics", {"type": "slicer", "stream": "upstream", "name": "up"})
    listing = call(api, "GET", "/proxies/p/toxics")
    assert [t["name"] for t in listing.json()] == ["up", "down"]  # upstream first
    assert call(api, "GET", "/proxies/p").json()["toxics"] == listing.json()
    updated = call(
        api,
        "PATCH",
        "/proxies/p/toxics/down",
        {"attributes": {"jitter": 3}, "name": "x", "type": "timeout"},
    ).json()
    assert updated["attributes"] == {"latency": 0, "jitter": 3}  # merged, name/type ignored
    assert (updated["name"], updated["type"]) == ("down", "latency")
    updated = call(api, "POST", "/proxies/p/toxics/down", {"toxicity": 0.5}).json()
    assert (updated["toxicity"], updated["attributes"]["jitter"]) == (0.5, 3)
    assert call(api, "GET", "/proxies/p/toxics/down").json() == updated
    deleted = call(api, "DELETE", "/proxies/p/toxics/down")
    assert (deleted.status, deleted.body) == (204, b"")
    assert [t["name"] for t in call(api, "GET", "/proxies/p/toxics").json()] == ["up"]


def test_toxic_names_are_unique_across_both_streams(api: str) -> None:
    _create(api)
    call(api, "POST", "/proxies/p/toxics", {"type": "latency", "name": "t"})
    reply = call(
        api, "POST", "/proxies/p/toxics", {"type": "latency", "name": "t", "stream": "upstream"}
    )
    _is_error(reply, 409, "toxic already exists")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"type": "latency", "stream": "sideways"}, "stream was invalid"),
        ({"type": "down"}, "invalid toxic type"),
        ({}, "invalid toxic type"),
        (
            {"type": "latency", "attributes": {"latency": -1}},
            "bad request body: attribute 'latency'",
        ),
        (
            {"type": "latency", "attributes": {"latency": "10"}},
            "bad request body: attribute 'latency'",
        ),
        (
            {"type": "latency", "attributes": {"latency": 1.5}},
            "bad request body: attribute 'latency'",
        ),
        ({"type": "bandwidth", "attributes": {"rate": True}}, "bad request body: attribute 'rate'"),
        ({"type": "latency", "attributes": [1]}, "bad request body: 'attributes'"),
        ({"type": "latency", "toxicity": "high"}, "bad request body: 'toxicity'"),
        (
            {"type": "redis_error", "attributes": {"commands": 5}},
            "bad request body: attribute 'commands'",
        ),
        ({"type": "redis_error", "stream": "downstream"}, "stream was invalid"),
    ],
)
def test_toxic_create_refuses_bad_input(api: str, body: object, message: str) -> None:
    _create(api)
    _is_error(call(api, "POST", "/proxies/p/toxics", body), 400, message)
    assert call(api, "GET", "/proxies/p/toxics").body == b"[]"


def test_toxic_update_refuses_bad_attributes(api: str) -> None:
    _create(api)
    call(api, "POST", "/proxies/p/toxics", {"type": "latency"})
    reply = call(
        api, "POST", "/proxies/p/toxics/latency_downstream", {"attributes": {"jitter": -5}}
    )
    _is_error(reply, 400, "bad request body: attribute 'jitter'")
    _is_error(
        call(api, "POST", "/proxies/p/toxics/latency_downstream", raw=b""),
        400,
        "bad request body: EOF",
    )


# --- /populate, /reset ----------------------------------------------------------------------


def test_populate_creates_keeps_and_replaces(api: str) -> None:
    port = _create(api, "kept").json()["listen"]
    call(api, "POST", "/proxies/kept/toxics", {"type": "latency"})
    reply = call(
        api,
        "POST",
        "/populate",
        [
            {"name": "kept", "upstream": "127.0.0.1:1", "listen": port, "enabled": False},
            {"name": "new", "upstream": "127.0.0.1:2"},
        ],
    )
    assert reply.status == 201
    proxies = reply.json()["proxies"]
    assert [p["name"] for p in proxies] == ["kept", "new"]
    assert proxies[0]["enabled"] is True and len(proxies[0]["toxics"]) == 1  # untouched
    replaced = call(api, "POST", "/populate", [{"name": "kept", "upstream": "127.0.0.1:3"}]).json()[
        "proxies"
    ][0]
    assert (replaced["upstream"], replaced["toxics"]) == ("127.0.0.1:3", [])


def test_populate_with_an_empty_array_answers_null(api: str) -> None:
    reply = call(api, "POST", "/populate", [])
    assert (reply.status, reply.body) == (201, b'{"proxies":null}')


def test_populate_validates_everything_first(api: str) -> None:
    reply = call(
        api,
        "POST",
        "/populate",
        [
            {"name": "a", "upstream": "127.0.0.1:1"},
            {"name": "b"},
        ],
    )
    assert reply.status == 400
    assert reply.json() == {
        "error": "missing required field: upstream at proxy 2",
        "status": 400,
        "proxies": None,
    }
    assert reply.headers["content-type"].startswith("application/json")
    assert call(api, "GET", "/proxies").body == b"{}"
    unaddressable = call(
        api, "POST", "/populate",
        [{"name": "a", "upstream": "127.0.0.1:1"}, {"name": "x/y", "upstream": "127.0.0.1:1"}],
    )  # fmt: skip
    assert unaddressable.status == 400
    assert unaddressable.json()["error"].startswith('invalid proxy name at proxy 2: "x/y"')
    assert call(api, "GET", "/proxies").body == b"{}"
    not_array = call(api, "POST", "/populate", {"name": "a"})
    assert not_array.status == 400 and not_array.json()["error"].startswith("bad request body")


def test_populate_reports_entries_done_before_a_failure(api: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        reply = call(
            api,
            "POST",
            "/populate",
            [
                {"name": "ok", "upstream": "127.0.0.1:1"},
                {"name": "bad", "upstream": "127.0.0.1:1", "listen": f"127.0.0.1:{port}"},
            ],
        )
    assert reply.status == 500
    assert [p["name"] for p in reply.json()["proxies"]] == ["ok"]
    assert sorted(call(api, "GET", "/proxies").json()) == ["ok"]


def test_reset_enables_every_proxy_and_removes_every_toxic(api: str) -> None:
    _create(api, "a", enabled=False)
    _create(api, "b")
    call(api, "POST", "/proxies/b/toxics", {"type": "latency"})
    reply = call(api, "POST", "/reset", raw=b"ignored")
    assert (reply.status, reply.body) == (204, b"")
    listing = call(api, "GET", "/proxies").json()
    assert all(p["enabled"] and p["toxics"] == [] for p in listing.values())
    assert not listing["a"]["listen"].endswith(":0")


# --- routing conventions --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/proxies"),
        ("PUT", "/proxies/p"),
        ("GET", "/reset"),
        ("GET", "/populate"),
        ("POST", "/version"),
        ("PUT", "/proxies/p/toxics"),
    ],
)
def test_wrong_method_is_405_with_an_empty_body(api: str, method: str, path: str) -> None:
    _create(api)
    reply = call(api, method, path)
    assert (reply.status, reply.body) == (405, b"")


@pytest.mark.parametrize("path", ["/proxies/", "/nowhere", "/proxies/p/toxics/", "/metrics"])
def test_unknown_path_is_go_404(api: str, path: str) -> None:
    _create(api)
    reply = call(api, "GET", path)
    assert (reply.status, reply.body) == (404, b"404 page not found\n")


def test_browsers_are_refused(api: str) -> None:
    reply = call(api, "GET", "/proxies", headers={"User-Agent": "Mozilla/5.0 (X11)"})
    assert (reply.status, reply.body) == (403, b"User agent not allowed")


def test_seed_extension_reads_and_sets(api: str) -> None:
    assert call(api, "GET", "/seed").json() == {"seed": 1234}
    assert call(api, "POST", "/seed", {"seed": 99}).json() == {"seed": 99}
    _is_error(call(api, "POST", "/seed", {"seed": "x"}), 400, "bad request body: field 'seed'")
    call(api, "POST", "/seed", {"seed": 1234})
