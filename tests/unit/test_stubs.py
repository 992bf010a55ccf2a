"""The HTTP stub endpoint fails exactly by plan, on a real loopback socket."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from chaos.stubs import StubEndpoint


def post(url: str, body: dict) -> int:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_fails_the_first_n_requests_then_succeeds() -> None:
    with StubEndpoint(fail_first=2) as stub:
        assert [post(stub.url, {}) for _ in range(4)] == [503, 503, 200, 200]
        assert [hit.status for hit in stub.hits()] == [503, 503, 200, 200]


def test_none_fails_every_request() -> None:
    with StubEndpoint(fail_first=None, fail_status=500) as stub:
        assert {post(stub.url, {}) for _ in range(3)} == {500}


def test_plans_per_key_count_separately() -> None:
    with StubEndpoint(fail_first={"17": None, "18": 1}, key_field="order_id") as stub:
        assert [post(stub.url, {"order_id": 17}) for _ in range(2)] == [503, 503]
        assert [post(stub.url, {"order_id": 18}) for _ in range(2)] == [503, 200]
        assert post(stub.url, {"order_id": 19}) == 200
        assert len(stub.hits("17")) == 2


def test_binds_loopback_only() -> None:
    with StubEndpoint() as stub:
        assert stub.url.startswith("http://127.0.0.1:")


def test_wait_for_hits_times_out_with_both_numbers() -> None:
    with StubEndpoint() as stub:
        post(stub.url, {})
        with pytest.raises(TimeoutError, match="1 of 2 requests"):
            stub.wait_for_hits(2, timeout=0.2)
