"""``chaos init`` on the second app (tests/otherapp): what it reads from the sources, the pinned
starter library it writes (which validates), and what it says it could not infer."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest
import yaml

from chaos.cli import main
from chaos.scenario import load_scenario
from chaos.starter.reading import read_project
from chaos.starter.triggers import retry_trigger

OTHERAPP = Path(__file__).resolve().parents[1] / "otherapp"
APP = Path(__file__).resolve().parents[2] / "app"


def test_the_sources_give_the_app_the_settings_and_each_tasks_policy() -> None:
    project = read_project(OTHERAPP)
    assert (project.app, project.settings) == ("config.celery_app", "config.settings")
    tasks = {t.name: t for t in project.tasks}
    charge = tasks["billing.charge_invoice"]
    assert charge.params == ["invoice_id"]  # self left out of a bound task
    assert charge.policy == {"bind": True, "max_retries": 3, "default_retry_delay": 1,
                             "acks_late": True, "reject_on_worker_lost": True}  # fmt: skip
    assert charge.retry_countdowns == [1.0]
    assert tasks["billing.await_settlement"].policy["max_retries"] is None


def test_exceptions_in_autoretry_for_resolve_through_the_modules_imports() -> None:
    tasks = {t.name: t for t in read_project(APP).tasks}
    assert read_project(APP).app == "myproject"  # myproject/celery.py: celery -A myproject
    warehouse = tasks["shop.tasks.notify_warehouse"]
    assert warehouse.policy["autoretry_for"] == ["shop.endpoints.EndpointError"]


def test_init_writes_a_pinned_library_that_validates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "starter"
    code = main(["init", str(OTHERAPP), "--out", str(out), "--args", "billing.charge_invoice=[1]",
                 "--setup", "python manage.py seed_customers --count 3"])  # fmt: skip
    assert code == 0
    said = capsys.readouterr().out
    files = sorted(p.name for p in out.glob("*.yaml"))
    # 6 tasks x (link-down, latency, broker-restart), charge_invoice's ladder, worker and pool kill.
    assert "charge-invoice-link-down.yaml" in files and len(files) == 21
    assert len([name for name in files if name.endswith("-broker-restart.yaml")]) == 6
    for path in out.glob("*.yaml"):
        load_scenario(path)
    document = yaml.safe_load((out / "charge-invoice-link-down.yaml").read_text())
    pin = document["expect"][0]["pin"]
    assert pin == {"max_retries": 3, "default_retry_delay": 1, "acks_late": True,
                   "reject_on_worker_lost": True, "countdown": 1.0}  # fmt: skip
    assert document["app"]["setup"] == ["python manage.py seed_customers --count 3"]
    assert (out / document["app"]["workdir"]).resolve() == OTHERAPP.resolve()
    # Arguments it could not know are said, in the output and in the file, never guessed silently.
    assert "GUESSED billing.send_receipt(invoice_id)" in said
    assert "ARGS GUESSED" in (out / "send-receipt-link-down.yaml").read_text()
    assert "ARGS GUESSED" not in (out / "charge-invoice-link-down.yaml").read_text()
    # A broker restart per task, before the first send: no retry can be pending at it, and the
    # file's header says so.
    restart_file = out / "await-settlement-broker-restart.yaml"
    restart = yaml.safe_load(restart_file.read_text())
    assert restart["faults"] == [{"id": "redis-restart", "type": "broker.restart", "at": "1s"}]
    assert restart["workload"][0]["at"] == "3s"
    assert {"check": "resume_within", "fault": "redis-restart", "seconds": 15} in restart["expect"]
    assert "before any retry is pending" in restart_file.read_text().split("\nname:")[0]
    assert "not written" not in said
    # An existing file is kept unless --force.
    assert main(["init", str(OTHERAPP), "--out", str(out)]) == 0
    assert "exists: kept" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "words"),
    [(["--args", "billing.nope=[1]"], "no such task"), (["--args", "x"], "TASK=JSON"),
     (["--env", "1A=b"], "KEY=VALUE")],
)
def test_bad_options_are_bad_input(tmp_path: Path, argv: list[str], words: str,
                                   capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    assert main(["init", str(OTHERAPP), "--out", str(tmp_path), *argv]) == 2
    assert words in capsys.readouterr().err


def test_a_retrying_task_gets_a_ladder_through_the_call_its_except_guards() -> None:
    tasks = {t.name: t for t in read_project(OTHERAPP).tasks}
    trigger = tasks["billing.charge_invoice"].trigger
    # gateway.charge() is inside the try whose except GatewayUnavailable calls self.retry; patched
    # in the module the task looks it up in; Invoice.objects.get (outside the try, the ORM) is not.
    assert trigger is not None
    assert (trigger.target.patch, trigger.exception) == (
        "billing.gateway:charge", "billing.gateway.GatewayUnavailable")
    # await_settlement retries without a try block: no target, said instead of guessed.
    assert tasks["billing.await_settlement"].trigger is None
    app_tasks = {t.name: t for t in read_project(APP).tasks}
    # The code's own failpoint() is preferred; autoretry_for gives the exception.
    risky, warehouse = app_tasks["shop.tasks.risky_task"], app_tasks["shop.tasks.notify_warehouse"]
    assert (risky.trigger.target.name, risky.trigger.exception) == ("shop.carrier",
                                                                    "builtins.Exception")
    assert warehouse.trigger.exception == "shop.endpoints.EndpointError"


def test_only_the_projects_own_functions_are_patched() -> None:
    source = textwrap.dedent("""
        import time
        from django.utils import timezone
        from billing import gateway
        from billing.gateway import charge
        def task(self, invoice):
            try:
                time.time(); timezone.now(); Invoice.objects.get(pk=1); Invoice(pk=1)
                charge(invoice); gateway.charge(invoice)
            except gateway.GatewayUnavailable as exc:
                raise self.retry(exc=exc)
    """)
    tree = ast.parse(source)
    function = tree.body[-1]
    imports = {"time": "time", "timezone": "django.utils.timezone", "gateway": "billing.gateway",
               "charge": "billing.gateway.charge"}  # fmt: skip
    local = lambda name: name.startswith("billing")  # noqa: E731
    trigger = retry_trigger(function, imports, "billing.tasks", None,
                            lambda *_: "billing.gateway.GatewayUnavailable", local)  # fmt: skip
    # time.time, timezone.now, the ORM and a model's constructor are skipped; charge() imported by
    # name is patched where the task looks it up (billing.tasks), not where it is defined.
    assert trigger is not None and trigger.target.patch == "billing.tasks:charge"


def test_the_ladder_pins_attempts_and_dilates_long_waits(tmp_path: Path) -> None:
    argv = ["init", str(APP), "--out", str(tmp_path), "--args", "shop.tasks.risky_task=[1]"]
    assert main(argv) == 0
    ladder = yaml.safe_load((tmp_path / "risky-task-retry-ladder.yaml").read_text())
    declared = ladder["expect"][0]
    assert (declared["attempts"], declared["final_state"]) == (4, "FAILURE")  # max_retries=3
    assert declared["pin"]["countdown"] == 60.0
    assert ladder["clock"] == {"dilation": 10}  # 3 x 60 s of countdowns
    assert ladder["faults"][0]["name"] == "shop.carrier" and "for" not in ladder["faults"][0]
    backoff = yaml.safe_load((tmp_path / "notify-warehouse-retry-ladder.yaml").read_text())
    assert backoff["expect"][0]["attempts"] == 6  # max_retries=5
    # An acks_late task is killed mid-task; a task without acks_late is not.
    kill = yaml.safe_load((tmp_path / "print-shipping-label-worker-kill.yaml").read_text())
    assert [f["type"] for f in kill["faults"]] == ["failpoint", "worker.kill"]
    pool = yaml.safe_load((tmp_path / "print-shipping-label-pool-kill.yaml").read_text())
    assert pool["topology"]["pool"] == "prefork"
    # acks_late without reject_on_worker_lost: Celery records WorkerLostError, the task FAILS.
    assert pool["expect"][0]["final_state"] == "FAILURE"
    assert not (tmp_path / "risky-task-worker-kill.yaml").exists()
