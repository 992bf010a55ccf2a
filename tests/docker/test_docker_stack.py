"""End to end on the docker backend: tasks run in worker containers, broker and workers die and
come back, the proxy's toxics apply to the producer on the host."""

from __future__ import annotations

import time

import pytest
import redis

from chaos.producer import Producer
from chaos.stack._ping import redis_ping
from chaos.stack._waiting import poll_until
from chaos.stack.base import StackConfig
from chaos.stack.docker import DockerStack

from .conftest import bind_mounts, wait_for_event

pytestmark = pytest.mark.docker

TASK = "shop.tasks.send_invoice_email"


def send_task(celery_app, stack: DockerStack, task: str, order_id: int) -> str:
    with Producer.for_stack(celery_app, stack) as producer:
        outcome = producer.send(task, args=[order_id], key=f"order={order_id}")
    assert outcome.accepted, outcome
    return outcome.task_id


def send(celery_app, stack: DockerStack, order_id: int) -> str:
    return send_task(celery_app, stack, TASK, order_id)


def test_task_sent_from_the_host_executes_in_a_worker_container(docker_stack, celery_app):
    task_id = send(celery_app, docker_stack, 1)
    event = wait_for_event(docker_stack.run_dir, "task.succeeded", task_id)
    assert event["data"]["attempt"] == 0
    started = wait_for_event(docker_stack.run_dir, "task.started", task_id)
    assert started["data"]["hostname"] == docker_stack.workers[0].hostname


def test_no_container_has_a_bind_mount_the_database_is_in_a_volume(docker_stack, celery_app):
    """The run's journal, failpoints and start-up mark reach the runner through its run service,
    the settings wrapper travels as text, and the app's SQLite database lives in the run's
    app-data volume on the engine: ``docker inspect`` shows no bind mount on any container."""
    import sqlite3

    from chaos.stack.docker import engine_client

    client = engine_client()
    mounts = bind_mounts(client, docker_stack.run_id)
    run = f"chaos-{docker_stack.run_id}"
    assert {f"{run}-redis", f"{run}-redis-net", f"{run}-proxy", f"{run}-worker-1"} <= set(mounts)
    assert mounts == {name: [] for name in mounts}
    volumes = bind_mounts(client, docker_stack.run_id, kind="volume")
    assert volumes[f"{run}-worker-1"] == [f"{run}-app:/chaos-data"]
    # ... the worker's events are in the runner's journal while the run goes on, and what it
    # stored in the database on the engine comes back to the run directory.
    task_id = send(celery_app, docker_stack, 6)
    assert wait_for_event(docker_stack.run_dir, "task.succeeded", task_id)
    docker_stack.fetch_app_data()
    with sqlite3.connect(docker_stack.run_dir / "db.sqlite3") as database:
        rows = database.execute("SELECT status FROM django_celery_results_taskresult "
                                "WHERE task_id = ?", (task_id,)).fetchall()  # fmt: skip
    assert rows == [("SUCCESS",)]


def test_broker_killed_then_started_again_serves_the_workers(docker_stack, celery_app):
    broker = docker_stack.broker
    broker.kill()
    assert poll_until(lambda: not broker.is_running(), 10)
    broker.start()
    assert broker.is_running()
    # The worker reconnects on its own schedule (2 s, then 4 s, ...: reference facts).
    task_id = send(celery_app, docker_stack, 2)
    wait_for_event(docker_stack.run_dir, "task.succeeded", task_id)


def test_paused_broker_accepts_connections_but_never_answers(docker_stack):
    broker = docker_stack.broker
    port = docker_stack.broker.container.get_host_port()
    broker.pause()
    try:
        assert broker.paused
        assert not redis_ping("127.0.0.1", port, timeout=0.5)
    finally:
        broker.resume()
    assert poll_until(lambda: redis_ping("127.0.0.1", port), 10)


def test_killed_worker_restarts_and_takes_tasks_again(docker_stack, celery_app):
    worker = docker_stack.workers[0]
    worker.kill()
    assert poll_until(lambda: not worker.is_alive(), 10)
    worker.start()
    assert worker.is_alive()
    task_id = send(celery_app, docker_stack, 3)
    wait_for_event(docker_stack.run_dir, "task.succeeded", task_id)


def test_terminated_worker_shuts_down_warm_and_starts_again(docker_stack, celery_app):
    worker = docker_stack.workers[0]
    assert worker.terminate(grace=20)  # an idle solo worker needs no SIGKILL
    assert not worker.is_alive()
    worker.start()
    task_id = send(celery_app, docker_stack, 6)
    wait_for_event(docker_stack.run_dir, "task.succeeded", task_id)


def test_broker_restart_stops_and_starts_the_same_container(docker_stack):
    broker = docker_stack.broker
    container_id = broker.container.get_container_id()
    broker.restart()
    assert broker.is_running()
    assert broker.container.get_container_id() == container_id
    assert docker_stack.queue_lengths()["unacked"] == 0  # answers on its published port again


def test_latency_toxic_on_the_proxy_delays_the_producer_side(docker_stack):
    url = docker_stack.producer_broker_url
    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        client.ping()
        with docker_stack.proxy.toxic("latency", latency=400):
            began = time.monotonic()
            client.ping()
            delayed = time.monotonic() - began
        # 400 ms added downstream; 0.3 s leaves room for timer granularity, none for no toxic.
        assert delayed >= 0.3
    finally:
        client.close()


def test_scale_adds_and_removes_worker_containers(docker_stack):
    docker_stack.scale(2)
    try:
        assert [w.name for w in docker_stack.workers] == ["worker-1", "worker-2"]
        assert all(w.is_alive() for w in docker_stack.workers)
    finally:
        docker_stack.scale(1)
    assert [w.name for w in docker_stack.workers] == ["worker-1"]


def test_restarted_broker_keeps_its_volume(docker_images, tmp_path, celery_app):
    """appendfsync always + the same named volume: a queued message survives docker kill."""
    config = StackConfig(workers=0, persistence="always", run_dir=tmp_path, start_timeout=60)
    with DockerStack(config, images=docker_images) as stack:
        send(celery_app, stack, 4)
        assert stack.queue_lengths()["celery"] == 1
        stack.broker.kill()
        stack.broker.start()
        assert stack.queue_lengths()["celery"] == 1


def test_worker_containers_reach_a_stub_endpoint_on_the_host_loopback(docker_images, tmp_path, celery_app):
    """risky_task books the carrier over HTTP: the stub listens on the host's 127.0.0.1."""
    from chaos.stubs import StubEndpoint

    with StubEndpoint() as carrier:
        config = StackConfig(
            workers=1, run_dir=tmp_path, start_timeout=60, env={"CARRIER_URL": carrier.url}
        )
        with DockerStack(config, images=docker_images) as stack:
            task_id = send_task(celery_app, stack, "shop.tasks.risky_task", 5)
            wait_for_event(stack.run_dir, "task.succeeded", task_id)
        assert len(carrier.hits()) == 1
