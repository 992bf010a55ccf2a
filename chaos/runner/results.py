"""What the app's result backend holds for the run's tasks, journaled once after the drain.

The checks read only the journal; whether results reach the backend the app declares (the
``django-db`` TaskResult rows the admin shows, ``celery-task-meta-<id>`` keys in Redis) is a
promise the probe cannot see. So, with the stack still up and before judging, the runner reads the
backend directly (the run's SQLite file; Redis on its own port, never through the proxy) and
writes one ``results.snapshot`` event: the backend the workers reported at ready, and each
finished task id's stored state (None: nothing stored). ``results_stored`` judges it.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from chaos.journal import JOURNAL_FILE, JournalWriter, read_journal

RESULTS_EVENT = "results.snapshot"
TASK_RESULT_TABLE = "django_celery_results_taskresult"
REDIS_KEY_PREFIX = "celery-task-meta-"
#: Ids per query: SQLite's default bound on host parameters is 999 on old builds.
_CHUNK = 500


def finished_tasks_and_backend(journal: Path) -> tuple[list[str], str | None, bool]:
    """The ids of tasks an attempt finished, in first-seen order; the result backend the workers
    reported at ready (None: none declared); whether any worker reported one at all."""
    ids: dict[str, None] = {}
    backend: str | None = None
    reported = False
    for event in read_journal(journal):
        if event.kind == "task.finished" and event.task_id:
            ids.setdefault(event.task_id)
        elif event.kind == "worker.ready" and "result_backend" in event.data:
            reported = True
            backend = backend or event.data.get("result_backend")
    return list(ids), backend, reported


def _django_db_states(database: Path, task_ids: list[str]) -> dict[str, str | None]:
    states: dict[str, str | None] = dict.fromkeys(task_ids)
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5.0)
    try:
        for start in range(0, len(task_ids), _CHUNK):
            chunk = task_ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = connection.execute(
                f"SELECT task_id, status FROM {TASK_RESULT_TABLE} WHERE task_id IN ({marks})",
                chunk,
            )
            states.update({str(task_id): str(status) for task_id, status in rows})
    finally:
        connection.close()
    return states


def _redis_states(direct_url: str, backend: str, task_ids: list[str]) -> dict[str, str | None]:
    import redis

    # The backend's database number on Redis's own address (the backend's host is the proxy's).
    database = urlsplit(backend).path.strip("/") or "0"
    client = redis.Redis.from_url(direct_url, db=int(database), socket_timeout=5.0,
                                  socket_connect_timeout=2.0, retry=None)  # fmt: skip
    try:
        values = client.mget([REDIS_KEY_PREFIX + task_id for task_id in task_ids]) if task_ids else []
    finally:
        client.close()
    states: dict[str, str | None] = {}
    for task_id, value in zip(task_ids, values, strict=True):
        states[task_id] = None if value is None else str(json.loads(value).get("status"))
    return states


def read_states(backend: str | None, task_ids: list[str], run_dir: Path,
                direct_url: str) -> dict[str, Any]:  # fmt: skip
    """The snapshot's fields for ``backend``: ``states`` (task id -> stored state or None) and
    ``source`` (where they were read), or ``error`` when they could not be read."""
    scheme = (backend or "").split(":", 1)[0].split("+", 1)[0]
    try:
        if backend == "django-db":
            database = run_dir / "db.sqlite3"
            return {"source": f"{database} ({TASK_RESULT_TABLE})",
                    "states": _django_db_states(database, task_ids)}  # fmt: skip
        if scheme in ("redis", "rediss"):
            return {"source": f"{direct_url} db {urlsplit(backend or '').path.strip('/') or '0'} "
                              f"({REDIS_KEY_PREFIX}<id>)",
                    "states": _redis_states(direct_url, backend or "", task_ids)}  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - any failure to read is said in the snapshot
        return {"error": f"{type(exc).__name__}: {exc}"[:500]}
    if not backend:
        return {"states": dict.fromkeys(task_ids)}
    return {"error": f"reading results from a {scheme or backend!r} backend is not supported"}


def snapshot_results(journal_writer: JournalWriter, run_dir: Path, direct_url: str) -> None:
    """Journal what the app's result backend holds for every task an attempt finished."""
    task_ids, backend, reported = finished_tasks_and_backend(run_dir / JOURNAL_FILE)
    if not reported:
        fields: dict[str, Any] = {"error": "no worker reported its result backend"}
    else:
        fields = read_states(backend, task_ids, run_dir, direct_url)
    journal_writer.write(RESULTS_EVENT, backend=backend, **fields)
