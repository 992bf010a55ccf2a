"""A real redis-server behind the proxy, redis-py as the client."""

from __future__ import annotations

import time

import pytest
import redis

from chaos.proxy import ProxyHandle, ToxiproxyClient


@pytest.fixture
def redis_proxy(toxiproxy: ToxiproxyClient, redis_port: int) -> ProxyHandle:
    return toxiproxy.create_proxy("redis", f"127.0.0.1:{redis_port}")


@pytest.fixture
def client(redis_proxy: ProxyHandle) -> redis.Redis:
    connection = redis.Redis(port=redis_proxy.listen_port, socket_timeout=5, retry=None)
    yield connection
    connection.close()


def _round_trip(client: redis.Redis) -> float:
    started = time.perf_counter()
    client.get("chaos:key")
    return time.perf_counter() - started


def test_commands_pass_unchanged(client: redis.Redis) -> None:
    client.delete("chaos:list")
    assert client.set("chaos:key", b"\x00\r\nvalue") is True
    assert client.get("chaos:key") == b"\x00\r\nvalue"
    assert client.rpush("chaos:list", *[str(n) for n in range(100)]) == 100
    pipe = client.pipeline(transaction=False)
    for _ in range(50):
        pipe.lpop("chaos:list")
    assert pipe.execute() == [str(n).encode() for n in range(50)]


def test_latency_grows_the_round_trip(client: redis.Redis, redis_proxy: ProxyHandle) -> None:
    client.ping()
    before = min(_round_trip(client) for _ in range(5))
    with redis_proxy.toxic("latency", latency=50):
        during = min(_round_trip(client) for _ in range(5))
    # Fastest of 5: load from elsewhere only adds delay. Never early; 10 ms of slack for a
    # loaded 2-core machine.
    assert during >= 0.050
    assert during - before <= 0.060


def test_disabled_proxy_gives_a_connection_error(
    client: redis.Redis, redis_proxy: ProxyHandle
) -> None:
    client.ping()
    redis_proxy.disable()
    with pytest.raises(redis.ConnectionError):
        client.get("chaos:key")
    redis_proxy.enable()
    assert client.ping()


@pytest.mark.parametrize(
    ("error", "exception"),
    [
        ("OOM", redis.exceptions.OutOfMemoryError),
        ("LOADING", redis.exceptions.BusyLoadingError),
        ("READONLY", redis.exceptions.ReadOnlyError),
        ("BUSY", redis.exceptions.ResponseError),
        ("ERR chaos says no", redis.exceptions.ResponseError),
    ],
)
def test_redis_error_raises_the_matching_exception(
    client: redis.Redis, redis_proxy: ProxyHandle, error: str, exception: type[Exception]
) -> None:
    client.delete("chaos:queue")
    with redis_proxy.toxic("redis_error", error=error, commands=["LPUSH"]):
        with pytest.raises(exception):
            client.lpush("chaos:queue", "job")
        assert client.set("chaos:key", "still served") is True
    assert client.lpush("chaos:queue", "job") == 1


def test_redis_error_keeps_pipeline_replies_in_order(
    client: redis.Redis, redis_proxy: ProxyHandle
) -> None:
    client.delete("chaos:queue")
    with redis_proxy.toxic("redis_error", error="OOM", commands="LPUSH"):
        pipe = client.pipeline(transaction=False)
        pipe.set("chaos:key", "a").lpush("chaos:queue", "job").get("chaos:key").llen("chaos:queue")
        replies = pipe.execute(raise_on_error=False)
    assert replies[0] is True
    assert isinstance(replies[1], redis.exceptions.OutOfMemoryError)
    assert replies[2:] == [b"a", 0]


def test_redis_error_count_limits_how_many_commands_fail(
    client: redis.Redis, redis_proxy: ProxyHandle
) -> None:
    client.delete("chaos:queue")
    with redis_proxy.toxic("redis_error", error="LOADING", commands=["LPUSH"], count=2):
        outcomes = []
        for _ in range(3):
            try:
                outcomes.append(client.lpush("chaos:queue", "job"))
            except redis.exceptions.BusyLoadingError:
                outcomes.append("error")
    assert outcomes == ["error", "error", 1]


def test_redis_error_answers_a_blocking_pop_at_once(
    client: redis.Redis, redis_proxy: ProxyHandle
) -> None:
    with redis_proxy.toxic("redis_error", error="READONLY", commands=["BRPOP"]):
        started = time.perf_counter()
        with pytest.raises(redis.exceptions.ReadOnlyError):
            client.brpop(["chaos:empty"], timeout=3)
        assert time.perf_counter() - started < 2.5  # answered, not blocked for 3 s


def test_redis_error_toxicity_is_drawn_per_command(
    client: redis.Redis, redis_proxy: ProxyHandle
) -> None:
    failures = 0
    with redis_proxy.toxic("redis_error", error="ERR sometimes", commands=["GET"], toxicity=0.5):
        for _ in range(40):
            try:
                client.get("chaos:key")
            except redis.exceptions.ResponseError:
                failures += 1
    assert 5 <= failures <= 35  # seeded: some fail, some pass
