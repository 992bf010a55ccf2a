"""The plugin's options, marker, collection and assertion helpers (no stack started here)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytest_plugins = ["pytester"]

#: In-process inner sessions share this process's Django: pytest-django must not set it up twice.
#: hypothesis's plugin costs seconds to import, and pytester unloads it after each inner run.
INNER = ("-p", "no:django", "-p", "no:hypothesispytest", "-p", "no:cacheprovider")

SCENARIO = """\
name: {name}
workload:
  - path: naive
    count: 1
expect:
  - check: no_lost
"""


def test_options_and_ini_are_listed_in_help(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(*INNER, "--help")
    result.stdout.fnmatch_lines([
        "*--chaos-backend={local,docker}*",
        "*--chaos-seed=N*",
        "*--chaos-out=DIR*",
        "*--chaos-keep*",
        "*chaos_scenarios (linelist)*",
    ])


def test_chaos_marker_is_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(*INNER, "--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.chaos(reset=True): a resilience test*"])


def test_unknown_backend_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(*INNER, "--chaos-backend=podman")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--chaos-backend: invalid choice: 'podman'*"])


def test_scenarios_are_collected_only_from_the_configured_dir(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", **{"scenarios/broker-kill": SCENARIO.format(name="broker-kill")})
    pytester.makefile(".yml", **{"scenarios/deep/latency": SCENARIO.format(name="latency")})
    pytester.makefile(".yaml", **{"tests/data/not-a-scenario": "just: data\n"})
    pytester.makefile(".yaml", elsewhere="name: elsewhere\n")
    result = pytester.runpytest(*INNER, "--collect-only", "-q")
    result.stdout.fnmatch_lines([
        "scenarios/broker-kill.yaml::broker-kill",
        "scenarios/deep/latency.yml::latency",
        "2 tests collected*",
    ])
    assert "not-a-scenario" not in result.stdout.str()
    assert "elsewhere" not in result.stdout.str()


def test_the_scenario_dir_is_configurable(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nchaos_scenarios = library\n")
    pytester.makefile(".yaml", **{"library/one": SCENARIO.format(name="one")})
    pytester.makefile(".yaml", **{"scenarios/two": SCENARIO.format(name="two")})
    result = pytester.runpytest(*INNER, "--collect-only", "-q")
    result.stdout.fnmatch_lines(["library/one.yaml::one", "1 test collected*"])


def test_scenario_items_carry_the_chaos_marker(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", **{"scenarios/one": SCENARIO.format(name="one")})
    pytester.makepyfile(test_plain="def test_plain():\n    pass\n")
    selected = pytester.runpytest(*INNER, "--collect-only", "-q", "-m", "chaos")
    selected.stdout.fnmatch_lines(["scenarios/one.yaml::one", "1/2 tests collected*"])
    excluded = pytester.runpytest(*INNER, "--collect-only", "-q", "-m", "not chaos")
    excluded.stdout.fnmatch_lines(["test_plain.py::test_plain", "1/2 tests collected*"])


def test_an_invalid_scenario_is_an_error_and_the_rest_still_runs(
    pytester: pytest.Pytester,
) -> None:
    pytester.makefile(".yaml", **{"scenarios/typo": "name: typo\nworkload: []\nexpect: []\n"})
    pytester.makepyfile(test_plain="def test_plain():\n    pass\n")
    result = pytester.runpytest(*INNER)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([
        "*ERROR at setup of scenario typo.yaml*",
        "the scenario file is not valid:",
        "*typo.yaml:2:11: workload: list should have at least 1 item*",
    ])
    assert "During handling" not in result.stdout.str()


def test_assertion_helpers_fail_with_the_checkers_message(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_helpers=textwrap.dedent("""
        from chaos.testing import SyntheticRun
        from chaos.history import load_history
        from chaos.pytest.assertions import assert_no_lost, assert_retries_as_declared


        def lost_run(tmp_path):
            run = SyntheticRun()
            run.fault(fault_id="kill", type="broker.kill", start=1.0, end=3.0, target="broker")
            run.publish(0.5, "t1", "order=17")
            run.publish(0.6, "t2", "order=18")
            run.execute(0.7, "t2", 0, "success")
            run.finish(5.0)
            run.write(tmp_path)
            return tmp_path


        def test_lost(tmp_path):
            assert_no_lost(lost_run(tmp_path))


        def test_retries_hold_on_a_history(tmp_path):
            verdict = assert_retries_as_declared(load_history(lost_run(tmp_path)))
            assert verdict.ok
    """))
    result = pytester.runpytest(*INNER)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        (
            "E       AssertionError: no_lost: send_invoice_email?order=17?: accepted by the "
            "broker at 0.50 s, never executed; broker killed 1.00 to 3.00 s*lost with the "
            "broker's memory*"
        ),
        "E       assert False",
    ])


def test_importing_the_plugin_loads_nothing_heavy() -> None:
    probe = (
        "import sys, chaos.pytest.plugin\n"
        "heavy = ('celery', 'kombu', 'redis', 'django', 'matplotlib', 'rich', 'pydantic', 'yaml')\n"
        "print(sorted(name for name in heavy if name in sys.modules))\n"
    )
    finished = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                              timeout=60, check=True)  # fmt: skip
    assert finished.stdout.strip() == "[]"


#: A stand-in for the session stack, so that the alias tests start no process.
FAKE_STACK_CONFTEST = """
import types

import pytest


@pytest.fixture(scope="session")
def chaos_stack(tmp_path_factory):
    journal_path = tmp_path_factory.mktemp("run") / "journal.jsonl"
    journal_path.write_text("")
    return types.SimpleNamespace(broker=object(), proxy=object(), workers=[object()],
                                 journal_path=journal_path)
"""


@pytest.mark.parametrize(
    ("old", "new"),
    [("broker", "chaos_broker"), ("proxy", "chaos_proxy"), ("workers", "chaos_workers"),
     ("journal", "chaos_journal")],
)
def test_an_old_fixture_name_still_works_and_warns_with_the_new_one(
    pytester: pytest.Pytester, old: str, new: str
) -> None:
    pytester.makeconftest(FAKE_STACK_CONFTEST)
    compare = "is" if old != "journal" else "=="
    compared = {"is": f"{old} is {new}", "==": f"{old}.path == {new}.path"}[compare]
    pytester.makepyfile(test_old=f"""
        import pytest

        @pytest.mark.chaos(reset=False)
        def test_old({old}, {new}):
            assert {compared}
    """)
    result = pytester.runpytest(*INNER, "-W", "error::pytest.PytestDeprecationWarning")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        f"*PytestDeprecationWarning: the '{old}' fixture of celery-chaos is deprecated*"
        f"use '{new}'*"
    ])
    shown = pytester.runpytest(*INNER)
    shown.assert_outcomes(passed=1, warnings=1)


@pytest.mark.parametrize("old", ["broker", "proxy", "workers", "journal"])
def test_a_projects_own_fixture_of_an_old_name_wins_without_a_warning(
    pytester: pytest.Pytester, old: str
) -> None:
    # No chaos_stack override here: were the plugin's alias used, it would start a real stack.
    pytester.makeconftest(f"""
        import pytest

        @pytest.fixture
        def {old}():
            return "the project's own {old}"
    """)
    pytester.makepyfile(test_own=f"""
        def test_own({old}, request):
            assert {old} == "the project's own {old}"
            assert "chaos_stack" not in request.fixturenames
    """)
    result = pytester.runpytest(*INNER, "-W", "error")
    result.assert_outcomes(passed=1, warnings=0)


def test_the_new_fixture_names_are_listed(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(*INNER, "--fixtures")
    for name in ("chaos_broker", "chaos_proxy", "chaos_workers", "chaos_journal"):
        result.stdout.fnmatch_lines([f"{name} -- *"])
