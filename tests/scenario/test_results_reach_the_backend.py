"""Results reach the result backend the app declares: ``results_stored`` on real runs, and the two
planted bugs it must kill: the backend removed from the settings, ``ignore_result`` on the task."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.runner import run_scenario
from tests.scenario.mutants import library_scenario, mutant_app

pytestmark = pytest.mark.chaos
SCENARIO = "failpoint-send-invoice-email"


def results_verdict(result):
    return next(v for v in result.verdicts if v.name == "results_stored")


def test_the_reference_app_stores_every_failure_in_django_db(tmp_path: Path) -> None:
    result = run_scenario(library_scenario(SCENARIO), out_dir=tmp_path, quiet=True)
    verdict = results_verdict(result)
    assert verdict.ok, verdict.message
    assert verdict.message == "8 executed tasks, each stored in 'django-db' in its final state"


def test_removing_the_result_backend_is_killed_naming_it(tmp_path: Path) -> None:
    app = mutant_app(tmp_path, "myproject/settings.py",
                     'CELERY_RESULT_BACKEND = "django-db"\n', "")  # fmt: skip
    result = run_scenario(library_scenario(SCENARIO, app), out_dir=tmp_path / "runs", quiet=True)
    verdict = results_verdict(result)
    assert not verdict.ok
    assert verdict.message.startswith(
        "8 of 8 executed tasks have no stored result (the app declares no result backend: "
        "result_backend is unset, and Celery's DisabledBackend stores nothing): "
    ), verdict.message
    assert len(verdict.tasks) == 8
    assert [v.name for v in result.verdicts if not v.ok] == ["results_stored"]


def test_ignore_result_on_the_task_is_killed_naming_the_backend(tmp_path: Path) -> None:
    app = mutant_app(tmp_path, "shop/tasks.py", "@shared_task\ndef send_invoice_email",
                     "@shared_task(ignore_result=True)\ndef send_invoice_email")  # fmt: skip
    result = run_scenario(library_scenario(SCENARIO, app), out_dir=tmp_path / "runs", quiet=True)
    verdict = results_verdict(result)
    assert not verdict.ok
    assert verdict.message.startswith(
        "8 of 8 executed tasks have no stored result in result backend 'django-db' ("
    ), verdict.message
    assert [v.name for v in result.verdicts if not v.ok] == ["results_stored"]
