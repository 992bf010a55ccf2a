"""Scenario files collected and run as test items on a real local stack, reported through
pytest's own terminal summary and --junitxml."""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree import ElementTree

import pytest

from .inner_project import HOLDS, INI

pytest_plugins = ["pytester"]

pytestmark = pytest.mark.chaos

#: Orders wait in Redis while the worker is down; Redis is killed with persistence off and they
#: are gone with its memory: no_lost fails every time (no timing luck involved).
FAILS = """\
name: fails
topology: {persistence: none}
workload:
  - path: naive
    count: 4
    rate: 10/s
    at: 200ms
faults:
  - id: worker-down
    type: worker.kill
    worker: worker-1
    at: 0s
    for: 2500ms
  - id: redis-down
    type: broker.kill
    at: 1500ms
    for: 500ms
expect:
  - check: no_lost
  - check: duplicates
    allowed: false
drain: 20s
timeout: 60s
"""


#: A test that runs a scenario given as a dict through the chaos_run fixture.
CHAOS_RUN_TEST = """
from chaos.pytest.assertions import assert_no_lost, assert_verdicts_held


def test_a_dict_scenario(chaos_run):
    result = chaos_run({
        "name": "from-a-dict",
        "workload": [{"path": "naive", "count": 2, "rate": "10/s"}],
        "expect": [{"check": "no_lost"}],
        "drain": "20s",
        "timeout": "60s",
    })
    assert_verdicts_held(result)
    assert_no_lost(result)
"""


def _testcases(junit: Path) -> dict[str, ElementTree.Element]:
    return {case.get("name", ""): case for case in ElementTree.parse(junit).iter("testcase")}


def test_scenario_files_run_as_items_and_report_their_verdicts(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makefile(".yaml", **{"scenarios/holds": HOLDS, "scenarios/fails": FAILS})
    pytester.makepyfile(test_chaos_run=CHAOS_RUN_TEST)
    out_dir = pytester.path / "runs"
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest_subprocess(
        f"--chaos-out={out_dir}", f"--junitxml={junit}", "-o", "junit_logging=system-out",
        "--chaos-seed=7", timeout=300,
    )
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "*scenario fails.yaml*",
        "scenario fails.yaml: 1 of * expectations FAILED",  # 2 of its own, then the invariants
        "*| no_lost *| FAILED *",
        "*| duplicates *| held *",
        "timeline:      *timeline.png (and timeline.svg beside it)",
    ])
    result.stdout.fnmatch_lines([
        "*- chaos: 1 failed run(s) kept -*",
        "scenarios/fails.yaml::fails: */runs/fails-* (chaos report */runs/fails-*)",
    ])
    timeline = Path(re.search(r"timeline:\s+(\S+timeline\.png)", result.stdout.str())[1])
    assert timeline.read_bytes().startswith(b"\x89PNG")
    # The failed run is kept for a look; the passing one is removed (no --chaos-keep).
    assert [p.name.split("-")[0] for p in out_dir.iterdir()] == ["fails"]

    cases = _testcases(junit)
    assert cases["fails"].find("failure") is not None
    assert cases["holds"].find("failure") is None
    properties = {p.get("name"): p.get("value") for p in cases["fails"].iter("property")}
    assert properties["chaos.verdict.no_lost"].startswith("FAILED: send_invoice_email")
    assert properties["chaos.verdict.duplicates"].startswith("held: ")
    # its 2 expectations (1 held) and the always-on invariants (all held here)
    held, total = map(int, re.fullmatch(r"(\d+) of (\d+) held", properties["chaos.verdicts"]).groups())
    assert total > 2 and held == total - 1
    assert Path(properties["chaos.run_dir"]) == timeline.parent
    # The timings a CI job keeps per scenario: the run fits inside its wall time.
    seconds = {k.removeprefix("chaos.seconds."): float(v) for k, v in properties.items()
               if k.startswith("chaos.seconds.")}  # fmt: skip
    assert set(seconds) == {"wall", "intrinsic", "stack_start", "stack_stop", "check"}
    assert 0 < seconds["intrinsic"] < seconds["wall"]
    assert seconds["stack_start"] + seconds["intrinsic"] < seconds["wall"]
    # The failure's text is the verdict table; a passing scenario's table is in <system-out>.
    assert re.search(r"\d+ of \d+ expectations held", cases["fails"].find("failure").text or "")
    assert "10 of 10 expectations held" in (cases["holds"].findtext("system-out") or "")  # 1 + 9 invariants
    chaos_run_properties = {
        p.get("name"): p.get("value") for p in cases["test_a_dict_scenario"].iter("property")
    }
    assert chaos_run_properties["chaos.verdict.no_lost"].startswith("held: ")
