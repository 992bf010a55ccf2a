"""Task names as Celery gives them, read from small apps' sources in tmp_path (nothing imported).

Issue 16: an explicit ``name=`` was rejected and the module path it replaces was accepted, then
refused at run time as an unregistered task. Both forms are checked here against what Celery
itself names: ``name=`` when given, else the defining module's path and the function's name.
"""

from __future__ import annotations

import textwrap
import warnings
from pathlib import Path

import pytest

from chaos.errors import ConfigError
from chaos.scenario import load_scenario_text
from chaos.scenario.app_source import TaskNameWarning, lookup_task

SCENARIO = """\
name: names
app:
  name: proj
  workdir: {workdir}
workload:
  - path: task
    task: {task}
    args: [1]
    count: 1
expect:
  - check: no_lost
"""

BILLING = """\
from celery import shared_task
from proj.celery import app

CHARGE = "billing.refund"


@app.task(name="billing.charge_invoice", bind=True)
def charge_invoice(self, order_id):
    return order_id


@shared_task(name=CHARGE)
def refund(order_id):
    return order_id


@shared_task
def send_receipt(order_id):
    return order_id


@app.task(acks_late=True)
def archive(order_id):
    return order_id
"""

CLASS_BASED = """\
from celery import Task
from proj.celery import app


class BaseTask(Task):
    abstract = True


class ExportLedger(Task):
    name = "ledger.export"

    def run(self, day):
        return day


class Unregistered(app.Task):
    def run(self):
        return None


app.register_task(ExportLedger())
"""


def make_app(root: Path, files: dict[str, str]) -> Path:
    """A project ``proj`` (with a ``celery.py``) plus ``files``, written under ``root``."""
    sources = {"proj/__init__.py": "",
               "proj/celery.py": "from celery import Celery\napp = Celery('proj')\n"}
    sources.update(files)
    for name, text in sources.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def validate(workdir: Path, task: str) -> tuple[list[str], list[str]]:
    """(problems, TaskNameWarnings) of a one-stream scenario naming ``task``."""
    text = SCENARIO.format(workdir=workdir, task=task)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            load_scenario_text(text, workdir / "scenario.yaml")
            problems = []
        except ConfigError as exc:
            problems = [str(problem) for problem in exc.problems]
    notes = [str(w.message) for w in caught if issubclass(w.category, TaskNameWarning)]
    return problems, notes


@pytest.fixture
def billing_app(tmp_path: Path) -> Path:
    return make_app(tmp_path, {"billing/__init__.py": "", "billing/tasks.py": BILLING})


@pytest.mark.parametrize(
    "task",
    [
        "billing.charge_invoice",  # name= on @app.task(...), the report
        "billing.refund",  # name= from a module constant
        "billing.tasks.send_receipt",  # @shared_task: Celery's default name
        "billing.tasks.archive",  # @app.task(...) without name=
    ],
)
def test_explicit_and_default_names_validate(billing_app: Path, task: str) -> None:
    assert validate(billing_app, task) == ([], [])


def test_the_module_path_of_a_renamed_task_is_an_error_naming_its_real_name(
    billing_app: Path,
) -> None:
    problems, notes = validate(billing_app, "billing.tasks.charge_invoice")
    (problem,) = problems
    assert "registered under the name 'billing.charge_invoice'" in problem
    assert "expected 'billing.charge_invoice'" in problem
    assert notes == []


def test_an_unknown_name_is_an_error_listing_the_registered_ones(billing_app: Path) -> None:
    problems, notes = validate(billing_app, "billing.tasks.send_reciept")
    (problem,) = problems
    assert "unknown task" in problem and "did you mean 'send_receipt'" in problem
    assert "billing.charge_invoice" in problem and "billing.tasks.archive" in problem
    assert notes == []


def test_a_name_in_no_module_of_the_app_is_an_error(billing_app: Path) -> None:
    (problem,), _ = validate(billing_app, "shipping.tasks.book")
    assert "no module 'shipping.tasks'" in problem


def test_a_registered_class_based_task_validates_under_its_name(tmp_path: Path) -> None:
    workdir = make_app(tmp_path, {"ledger.py": CLASS_BASED})
    assert validate(workdir, "ledger.export") == ([], [])


def test_an_unregistered_class_based_task_is_a_warning(tmp_path: Path) -> None:
    workdir = make_app(tmp_path, {"ledger.py": CLASS_BASED})
    problems, (note,) = validate(workdir, "ledger.Unregistered")
    assert problems == []
    assert "no app.register_task() names it" in note


def test_an_abstract_base_task_is_not_a_task(tmp_path: Path) -> None:
    workdir = make_app(tmp_path, {"ledger.py": CLASS_BASED})
    (problem,), _ = validate(workdir, "ledger.BaseTask")
    assert "unknown task" in problem


def test_a_name_built_at_run_time_makes_a_miss_a_warning_with_candidates(tmp_path: Path) -> None:
    dynamic = BILLING + textwrap.dedent("""
        import os

        @app.task(name=f"billing.{os.environ['REGION']}.settle")
        def settle(order_id):
            return order_id
    """)
    workdir = make_app(tmp_path, {"billing/__init__.py": "", "billing/tasks.py": dynamic})
    problems, (note,) = validate(workdir, "billing.eu.settle")
    assert problems == []
    assert "cannot confirm the task name" in note and "billing.tasks:" in note
    assert "billing.charge_invoice" in note  # the candidates it could be
    _, (path_note,) = validate(workdir, "billing.tasks.settle")
    assert "a name built at run time" in path_note


def test_a_task_registered_from_another_module_is_a_warning(tmp_path: Path) -> None:
    workdir = make_app(tmp_path, {
        "proj/tasks.py": "from proj.celery import app\nfrom vendor_lib import sync\n"
                         "app.task(sync)\n",
    })  # fmt: skip
    problems, (note,) = validate(workdir, "vendor_lib.sync")
    assert problems == []
    assert "proj.tasks:3" in note


def test_a_task_of_an_installed_package_is_a_warning_not_an_error(tmp_path: Path) -> None:
    workdir = make_app(tmp_path, {"billing.py": BILLING})
    problems, (note,) = validate(workdir, "celery.backend_cleanup")
    assert problems == [] and "installed, not part of the app" in note


def test_an_overridden_gen_task_name_makes_default_names_unproven(tmp_path: Path) -> None:
    custom = "from celery import Celery\n\nclass App(Celery):\n" \
             "    def gen_task_name(self, name, module):\n        return name\n"
    workdir = make_app(tmp_path, {"proj/celery.py": custom, "billing.py": BILLING})
    assert validate(workdir, "billing.charge_invoice") == ([], [])  # explicit: still proven
    problems, (note,) = validate(workdir, "billing.send_receipt")
    assert problems == [] and "gen_task_name" in note


def test_a_function_under_another_decorator_is_not_silently_a_task(tmp_path: Path) -> None:
    wrapped = "from proj.retry import retrying\n\n@retrying\ndef sync(order_id):\n    return 1\n"
    workdir = make_app(tmp_path, {"billing.py": wrapped})
    problems, (note,) = validate(workdir, "billing.sync")
    assert problems == [] and "not a Celery task decorator" in note


def test_the_warning_points_at_the_scenario_line(billing_app: Path) -> None:
    text = SCENARIO.format(workdir=billing_app, task="celery.backend_cleanup")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_scenario_text(text, billing_app / "scenario.yaml")
    (warning,) = [w for w in caught if issubclass(w.category, TaskNameWarning)]
    assert warning.filename == str(billing_app / "scenario.yaml") and warning.lineno == 7


def test_lookup_reads_the_reference_app_as_before() -> None:
    from chaos.stack.base import REFERENCE_APP_DIR

    assert lookup_task("shop.tasks.send_invoice_email", REFERENCE_APP_DIR).status == "found"
    assert lookup_task("shop.tasks.send_invoce_email", REFERENCE_APP_DIR).status == "unknown"
