"""The runner reads a Redis result backend's ``celery-task-meta-<id>`` keys on Redis's own port,
in the backend URL's database, not through the proxy (whose toxics would hide them)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis

from chaos.runner.results import read_states

pytestmark = pytest.mark.chaos


def test_redis_backend_states_are_read_directly_in_the_backends_database(
    chaos_broker, chaos_proxy, tmp_path: Path
) -> None:
    client = redis.Redis.from_url(chaos_broker.direct_url, db=3)
    client.set("celery-task-meta-a", json.dumps({"status": "SUCCESS", "task_id": "a"}))
    client.set("celery-task-meta-b", json.dumps({"status": "FAILURE", "task_id": "b"}))
    try:
        # the app reaches its backend through the proxy; the proxy is down: reads go around it
        chaos_proxy.disable()
        backend = f"redis://127.0.0.1:{chaos_proxy.listen_port}/3"
        fields = read_states(backend, ["a", "b", "c"], tmp_path, chaos_broker.direct_url)
    finally:
        chaos_proxy.enable()
        client.delete("celery-task-meta-a", "celery-task-meta-b")
    assert fields["states"] == {"a": "SUCCESS", "b": "FAILURE", "c": None}
    assert fields["source"].endswith("db 3 (celery-task-meta-<id>)")
