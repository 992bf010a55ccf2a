"""JUnit XML for CI: one test suite per scenario run, one test case per expectation."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.etree import ElementTree


def write_junit(path: Path, results: Sequence[Any]) -> Path:
    suites = ElementTree.Element("testsuites")
    for result in results:
        failures = sum(1 for verdict in result.verdicts if not verdict.ok)
        suite = ElementTree.SubElement(
            suites, "testsuite", name=result.scenario, tests=str(len(result.verdicts)),
            failures=str(failures), errors="0", time=f"{result.timings.get('wall', 0.0):.3f}",
        )  # fmt: skip
        properties = ElementTree.SubElement(suite, "properties")
        for name, value in (("seed", result.seed), ("run_dir", result.run_dir),
                            ("backend", result.backend)):  # fmt: skip
            ElementTree.SubElement(properties, "property", name=name, value=str(value))
        for verdict in result.verdicts:
            case = ElementTree.SubElement(suite, "testcase", classname=result.scenario,
                                          name=verdict.name)  # fmt: skip
            if not verdict.ok:
                failure = ElementTree.SubElement(
                    case, "failure", message=verdict.message[:500], type="ExpectationFailed"
                )
                failure.text = (f"expected: {verdict.expected}\nobserved: {verdict.observed}\n"
                                f"{verdict.message}")  # fmt: skip
    tree = ElementTree.ElementTree(suites)
    ElementTree.indent(tree)
    path.parent.mkdir(parents=True, exist_ok=True)
    tree.write(path, encoding="utf-8", xml_declaration=True)
    return path
