"""``results_stored``: each executed task's final state is what the app's result backend stored
(the runner's ``results.snapshot``), and a run that proves nothing fails (issue 15)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from chaos.checks import run_checks
from chaos.history import build_history
from chaos.runner.results import (
    TASK_RESULT_TABLE,
    finished_tasks_and_backend,
    read_states,
)
from chaos.testing import SyntheticRun


def two_tasks() -> SyntheticRun:
    """t1 succeeds; t2 retries once, then fails."""
    run = SyntheticRun()
    run.publish(0.5, "t1", "order=1")
    run.execute(0.6, "t1")
    run.retried_task(1.0, "t2", "order=2", attempts=2, countdown=0.5, final="failure")
    return run


def judge(run: SyntheticRun, **snapshot: object):
    if snapshot:
        run.runner.emit(5.0, "results.snapshot", **snapshot)
    run.finish(6.0)
    (verdict,) = run_checks(build_history(run.events), [{"check": "results_stored"}])
    return verdict


def test_holds_when_the_backend_stored_each_final_state() -> None:
    verdict = judge(two_tasks(), backend="django-db", source="db.sqlite3",
                    states={"t1": "SUCCESS", "t2": "FAILURE"})  # fmt: skip
    assert verdict.ok, verdict.message
    assert verdict.message == "2 executed tasks, each stored in 'django-db' in its final state"


def test_a_disabled_backend_fails_naming_it_and_the_missing_ids() -> None:
    verdict = judge(two_tasks(), backend=None, states={"t1": None, "t2": None})
    assert not verdict.ok
    assert verdict.message == (
        "2 of 2 executed tasks have no stored result (the app declares no result backend: "
        "result_backend is unset, and Celery's DisabledBackend stores nothing): t1, t2 (is the "
        "backend set, and does the task set ignore_result?)"
    )
    assert verdict.tasks == ["t1", "t2"]


def test_an_ignored_result_fails_naming_the_backend_and_the_id() -> None:
    verdict = judge(two_tasks(), backend="django-db", source="run/db.sqlite3",
                    states={"t1": None, "t2": "FAILURE"})  # fmt: skip
    assert not verdict.ok
    assert verdict.message.startswith(
        "1 of 2 executed tasks have no stored result in result backend 'django-db' "
        "(run/db.sqlite3): t1 "
    )
    assert verdict.observed == "1 of 2 executed tasks stored in 'django-db'"


def test_a_state_other_than_the_probes_fails() -> None:
    verdict = judge(two_tasks(), backend="redis://127.0.0.1:1/0",
                    states={"t1": "SUCCESS", "t2": "RETRY"})  # fmt: skip
    assert not verdict.ok
    assert verdict.message == (
        "send_invoice_email[order=2]: ended FAILURE on the worker, result backend "
        "'redis://127.0.0.1:1/0' holds RETRY"
    )


def test_zero_executed_tasks_is_a_failure_not_a_pass() -> None:
    run = SyntheticRun()
    run.publish(0.5, "t1", "order=1", outcome="refused")
    verdict = judge(run, backend="django-db", states={})
    assert not verdict.ok
    assert "zero tasks" in verdict.message


def test_no_snapshot_or_an_unreadable_backend_fails() -> None:
    assert "no results.snapshot" in judge(two_tasks()).message
    verdict = judge(two_tasks(), backend="django-db", error="OperationalError: no such table")
    assert not verdict.ok
    assert verdict.message == ("the result backend 'django-db' could not be read: "
                               "OperationalError: no such table")  # fmt: skip


def test_the_runner_reads_finished_ids_and_the_declared_backend(tmp_path: Path) -> None:
    run = two_tasks()
    parent, _ = run.worker(1)
    parent.emit(0.1, "worker.ready", hostname="worker-1", result_backend="django-db")
    run.publish(3.0, "t3", "order=3")  # accepted, never executed: not judged
    journal = run.write(tmp_path)
    assert finished_tasks_and_backend(journal) == (["t1", "t2"], "django-db", True)


def test_the_runner_reads_taskresult_rows_of_the_run_database(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "db.sqlite3") as database:
        database.execute(f"CREATE TABLE {TASK_RESULT_TABLE} (task_id TEXT, status TEXT)")
        database.execute(f"INSERT INTO {TASK_RESULT_TABLE} VALUES ('t1', 'SUCCESS')")
    fields = read_states("django-db", ["t1", "t2"], tmp_path, "redis://127.0.0.1:1")
    assert fields["states"] == {"t1": "SUCCESS", "t2": None}
    assert fields["source"].endswith(f"db.sqlite3 ({TASK_RESULT_TABLE})")


def test_an_unsupported_or_unreadable_backend_is_said(tmp_path: Path) -> None:
    assert read_states("rpc://", ["t1"], tmp_path, "redis://x")["error"] == (
        "reading results from a 'rpc' backend is not supported"
    )
    assert "OperationalError" in read_states("django-db", ["t1"], tmp_path, "redis://x")["error"]
    assert read_states(None, ["t1"], tmp_path, "redis://x") == {"states": {"t1": None}}
