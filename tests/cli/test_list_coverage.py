"""``chaos list --coverage``: the app's tasks no scenario runs, read from sources (issue 15)."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

from chaos.scenario import load_scenario_text
from chaos.scenario.coverage import coverage, tasks_run_by
from tests.cli.conftest import CHAOS

REPO = Path(__file__).resolve().parents[2]

TASKS = """\
from celery import shared_task


@shared_task
def charge(order_id):
    receipt.delay(order_id)          # a follow-up: runs whenever charge runs


@shared_task(name="billing.receipt")
def receipt(order_id):
    return order_id


@shared_task
def refund(order_id):                # no scenario sends it
    return order_id


@shared_task
def nightly_report():                # the view sends it by its registered name
    return 0
"""

VIEWS = """\
from celery import current_app


def place_order(request):
    current_app.send_task("shop.tasks.nightly_report")
"""

URLS = """\
from django.urls import path
from . import views

urlpatterns = [path("orders/", views.place_order)]
"""

SCENARIO = """\
name: {name}
app: {{name: proj, workdir: {workdir}, settings: null}}
workload:
  - {stream}
expect:
  - check: no_lost
"""


def _fixture_app(root: Path) -> Path:
    app = root / "app"
    (app / "proj").mkdir(parents=True)
    (app / "proj" / "__init__.py").write_text("")
    (app / "shop").mkdir()
    (app / "shop" / "__init__.py").write_text("")
    for name, text in (("tasks", TASKS), ("views", VIEWS), ("urls", URLS)):
        (app / "shop" / f"{name}.py").write_text(text)
    return app


def _write_scenarios(folder: Path, app: Path) -> None:
    folder.mkdir()
    streams = {
        "charges": "{path: task, task: shop.tasks.charge, args: [1], count: 1}",
        "orders": "{path: naive, count: 1}",
    }
    for name, stream in streams.items():
        (folder / f"{name}.yaml").write_text(
            SCENARIO.format(name=name, workdir=app, stream=stream)
        )


def test_a_task_no_scenario_sends_is_listed_and_require_all_exits_1(tmp_path: Path) -> None:
    app = _fixture_app(tmp_path)
    _write_scenarios(tmp_path / "scenarios", app)
    result = subprocess.run([CHAOS, "list", "--require-all", str(tmp_path / "scenarios")],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "tasks no scenario runs: shop.tasks.refund\n" in result.stdout
    assert "billing.receipt: 1 scenario(s): charges" in result.stdout  # sent by charge's body
    assert "shop.tasks.nightly_report: 1 scenario(s): orders" in result.stdout  # by the view


def test_coverage_without_require_all_reports_but_exits_0(tmp_path: Path) -> None:
    app = _fixture_app(tmp_path)
    _write_scenarios(tmp_path / "scenarios", app)
    result = subprocess.run([CHAOS, "list", "--coverage", str(tmp_path / "scenarios")],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "tasks no scenario runs: shop.tasks.refund" in result.stdout


def test_a_view_path_with_no_route_is_said_not_guessed(tmp_path: Path) -> None:
    app = _fixture_app(tmp_path)
    loaded = load_scenario_text(
        SCENARIO.format(name="durable", workdir=app, stream="{path: durable, count: 1}"), "d.yaml"
    )
    found = tasks_run_by(loaded.scenario, app)
    assert found.tasks == set()
    assert found.unreadable == [
        "path: durable (/orders/durable/): no view routed there in the app's sources"
    ]


def test_the_reference_app_has_every_task_run_by_the_library() -> None:
    result = subprocess.run([CHAOS, "list", "--require-all", str(REPO / "scenarios")],
                            capture_output=True, text=True, timeout=120, cwd=REPO)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "tasks no scenario runs: none" in result.stdout


def test_the_reference_app_views_send_the_invoice_on_both_paths() -> None:
    text = textwrap.dedent("""\
        name: both
        workload:
          - {path: naive, count: 1}
          - {path: durable, count: 1}
        expect:
          - check: no_lost
        """)
    scenario = load_scenario_text(text, "both.yaml").scenario
    found = coverage([scenario], REPO / "app")
    assert found.run_by == {"shop.tasks.send_invoice_email": ["both"]}
    assert found.not_run == sorted(
        {"shop.tasks.risky_task", "shop.tasks.notify_warehouse", "shop.tasks.print_shipping_label"}
    )
