"""A known-broken scenario under pytest: an expected failure (xfail, strict) while the promise
stays broken, a real failure saying "now holds" once it holds; JUnit says skipped with the reason."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import pytest

from .inner_project import HOLDS, INI
from .test_plugin_scenarios import FAILS

pytest_plugins = ["pytester"]

pytestmark = pytest.mark.chaos

WHY = "orders wait in a Redis without persistence; fix: persistence always"
STILL_BROKEN = FAILS.replace("  - check: no_lost\n", f'  - check: no_lost\n    known_broken: "{WHY}"\n')
NOW_FIXED = HOLDS.replace("  - check: no_lost\n", f'  - check: no_lost\n    known_broken: "{WHY}"\n')


def test_known_broken_is_xfail_until_a_fix_makes_it_fail_with_now_holds(
    pytester: pytest.Pytester,
) -> None:
    assert STILL_BROKEN != FAILS and NOW_FIXED != HOLDS
    pytester.makeini(INI)
    pytester.makefile(".yaml", **{"scenarios/broken": STILL_BROKEN, "scenarios/fixed": NOW_FIXED})
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest_subprocess(
        f"--chaos-out={pytester.path / 'runs'}", f"--junitxml={junit}", "-rxX", "--chaos-seed=7",
        timeout=300,
    )
    result.assert_outcomes(xfailed=1, failed=1)
    result.stdout.fnmatch_lines([f"XFAIL scenarios/broken.yaml::broken - *{WHY}*"])
    result.stdout.fnmatch_lines(["*| no_lost *| FAILED *| *now holds: remove known_broken*"])
    cases = {c.get("name"): c for c in ElementTree.parse(junit).iter("testcase")}
    skipped = cases["broken"].find("skipped")
    assert skipped is not None and WHY in (skipped.get("message") or "")
    assert cases["fixed"].find("failure") is not None
    assert Path(junit).is_file()
