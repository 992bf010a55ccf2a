"""The local broker handle on a real redis-server: kill, stop, pause, restart, persistence."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from chaos.errors import StackError
from chaos.stack._ping import redis_ping
from chaos.stack.local.broker import LocalBroker


def _client(broker: LocalBroker) -> redis.Redis:
    return redis.Redis(host=broker.host, port=broker.port, socket_timeout=2, retry=None)


@pytest.fixture
def make_broker(tmp_path: Path):
    started: list[LocalBroker] = []

    def make(persistence: str = "none") -> LocalBroker:
        broker = LocalBroker(run_dir=tmp_path, run_id="broker-test", persistence=persistence)
        started.append(broker)
        broker.start()
        return broker

    yield make
    for broker in started:
        broker.kill()


def test_restart_comes_back_on_the_same_port(make_broker) -> None:
    broker = make_broker()
    port = broker.port
    broker.kill()
    assert not redis_ping(broker.host, port)
    broker.start()
    assert broker.port == port
    assert redis_ping(broker.host, port)


def test_paused_broker_accepts_connections_but_does_not_answer(make_broker) -> None:
    broker = make_broker()
    broker.pause()
    assert broker.is_running()
    assert not redis_ping(broker.host, broker.port, timeout=0.3)
    broker.resume()
    assert redis_ping(broker.host, broker.port)


def test_stop_of_a_paused_broker_still_stops_it(make_broker) -> None:
    broker = make_broker()
    broker.pause()
    broker.stop(timeout=5.0)
    assert not broker.is_running()


@pytest.mark.parametrize(("persistence", "survives"), [("none", False), ("always", True)])
def test_queued_messages_survive_a_kill_only_with_persistence(
    make_broker, persistence: str, survives: bool
) -> None:
    broker = make_broker(persistence)
    _client(broker).lpush("celery", "message")
    broker.kill()
    broker.start()
    assert _client(broker).llen("celery") == (1 if survives else 0)


def test_a_missing_redis_server_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAOS_REDIS_SERVER", str(tmp_path / "no-redis-server"))
    broker = LocalBroker(run_dir=tmp_path, run_id="broker-test")
    with pytest.raises(StackError, match="cannot run .*no-redis-server"):
        broker.start()
