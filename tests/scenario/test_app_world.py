"""The app's world in a scenario (issue 16): validation of app.env/database/setup, path: naive
refused for an app without the shop, and the DisallowedHost false green."""

from pathlib import Path

import pytest

from chaos.errors import ConfigError
from chaos.scenario import load_scenario_text

OTHERAPP = Path(__file__).resolve().parents[1] / "otherapp"


def _text(app: str, workload: str) -> str:
    return (f"name: t\napp:\n{app}\nworkload:\n{workload}\nexpect: [{{check: no_lost}}]\n")


def test_naive_path_is_refused_for_an_app_without_the_reference_shop():
    text = _text(f"  name: config.celery_app\n  workdir: {OTHERAPP}", "  - {path: naive, count: 1}")
    with pytest.raises(ConfigError) as caught:
        load_scenario_text(text, "s.yaml")
    assert "path: naive drives the reference app's shop" in str(caught.value)
    assert "line 6" in str(caught.value) or ":6" in str(caught.value)


def test_settings_are_found_in_manage_py():
    text = _text(f"  name: config.celery_app\n  workdir: {OTHERAPP}",
                 "  - {path: task, task: billing.charge_invoice, args: [1], count: 1}")
    scenario = load_scenario_text(text, "s.yaml").scenario
    assert scenario.app.settings_for(OTHERAPP) == "config.settings"


@pytest.mark.parametrize(("app", "words"), [
    ("  env: [A]", "env"),
    ("  env: {'bad name': 1}", "not environment variable names"),
    ("  database: {variable: X}", "variable"),
    ("  setup: ['']", "empty setup command"),
])  # fmt: skip
def test_bad_app_fields_name_the_field_and_line(app, words):
    text = _text(f"  name: config.celery_app\n  workdir: {OTHERAPP}\n{app}",
                 "  - {path: task, task: billing.charge_invoice, args: [1], count: 1}")
    with pytest.raises(ConfigError) as caught:
        load_scenario_text(text, "s.yaml")
    message = str(caught.value)
    assert words in message and (":5" in message or "line 5" in message), message


@pytest.mark.chaos
def test_a_host_the_app_refuses_fails_the_run_instead_of_passing_with_zero_tasks(tmp_path):
    """Issue 16's DisallowedHost false green: every request answered 400, nothing enqueued."""
    from chaos.runner.run import run_scenario

    scenario = {
        "name": "disallowed-host", "seed": 1,
        "app": {"name": "config.celery_app", "workdir": str(OTHERAPP),
                "setup": ["python manage.py seed_customers --count 2"]},
        "workload": [{"path": "http", "url": "/api/invoices/", "json": {"customer": "{n}"},
                      "host": "testserver", "count": 2}],
        "expect": [{"check": "no_lost"}],
        "drain": "5s", "timeout": "30s",
    }  # fmt: skip
    result = run_scenario(scenario, out_dir=tmp_path, quiet=True)
    assert not result.ok
    failed = [v for v in result.verdicts if not v.ok]
    # no_lost looked at zero tasks: "not exercised"; the workload's verdict says why
    assert [(v.name, v.status) for v in failed] == [("no_lost", "not exercised"),
                                                    ("workload", "FAILED")]  # fmt: skip
    assert "400" in failed[-1].observed
