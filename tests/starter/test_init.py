"""``chaos init`` on the second app (tests/otherapp): what it reads from the sources, the pinned
starter library it writes (which validates), and what it says it could not infer."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from chaos.cli import main
from chaos.scenario import load_scenario
from chaos.starter.reading import read_project

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
    assert "charge-invoice-link-down.yaml" in files and len(files) == 12  # 6 tasks x 2
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
