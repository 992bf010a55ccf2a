"""Verdicts as JUnit XML, in one place: the file ``chaos run --junit`` writes, and the forms
pytest puts into its own JUnit XML and failure reports.

``write_junit`` writes one test suite per scenario run, one test case per expectation. pytest's
own ``--junitxml`` writes ``item.user_properties`` as ``<property>`` elements of the test case,
and report sections named ``Captured stdout ...`` into ``<system-out>`` (when ``junit_logging``
is ``system-out`` or ``all``); the plugin fills both from ``junit_properties`` and
``verdict_text``, so CI tools that read JUnit see each verdict without a format of our own.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from chaos.checks.verdict import Verdict

#: Width of the plain-text verdict table (wide enough for messages, narrow enough for CI logs).
TEXT_WIDTH = 140


def verdict_text(verdicts: Sequence[Verdict], title: str | None = None,
                 width: int = TEXT_WIDTH) -> str:
    """The console verdict table as plain ASCII text, without colour codes."""
    from rich import box
    from rich.console import Console

    from chaos.checks.table import verdict_table

    table = verdict_table(verdicts, title=title)
    table.box = box.ASCII2
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None, force_terminal=False,
            legacy_windows=False).print(table)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"


def junit_properties(verdicts: Sequence[Verdict],
                     run_dir: Path | str | None = None) -> list[tuple[str, str]]:
    """``(name, value)`` pairs: one ``chaos.verdict.<check>`` per verdict, ``held: message`` or
    ``FAILED: message``, then the run directory and the pictures' paths."""
    properties: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    for verdict in verdicts:
        count = seen[verdict.name] = seen.get(verdict.name, 0) + 1
        suffix = "" if count == 1 else f"#{count}"
        properties.append((f"chaos.verdict.{verdict.name}{suffix}",
                           f"{verdict.status}: {verdict.message}"))
    held = sum(1 for v in verdicts if v.ok)
    properties.append(("chaos.verdicts", f"{held} of {len(verdicts)} held"))
    if run_dir is not None:
        run_dir = Path(run_dir)
        properties.append(("chaos.run_dir", str(run_dir)))
        for name in ("report.json", "timeline.png", "timeline.svg", "report.html"):
            if (run_dir / name).is_file():
                properties.append((f"chaos.{name.replace('.', '_')}", str(run_dir / name)))
    return properties


def write_junit(path: Path, results: Sequence[Any]) -> Path:
    """JUnit XML for CI from ``RunResult``s: a failed expectation is a failure with its expected
    and observed values; properties carry the seed, run directory and backend for a replay."""
    suites = ElementTree.Element("testsuites")
    for result in results:
        failures = sum(1 for verdict in result.verdicts if not verdict.ok)
        skips = sum(1 for verdict in result.verdicts if verdict.status == "KNOWN BROKEN")
        suite = ElementTree.SubElement(
            suites, "testsuite", name=result.scenario, tests=str(len(result.verdicts)),
            failures=str(failures), errors="0", time=f"{result.timings.get('wall', 0.0):.3f}",
        )  # fmt: skip
        if skips:
            suite.set("skipped", str(skips))
        properties = ElementTree.SubElement(suite, "properties")
        for name, value in (("seed", result.seed), ("run_dir", result.run_dir),
                            ("backend", result.backend)):  # fmt: skip
            ElementTree.SubElement(properties, "property", name=name, value=str(value))
        dilation = getattr(result, "dilation", 1.0)
        if dilation != 1.0:  # the times in the messages are the app's, not the wall clock's
            ElementTree.SubElement(properties, "property", name="clock",
                                   value=f"dilated x{dilation:g}")  # fmt: skip
        for verdict in result.verdicts:
            case = ElementTree.SubElement(suite, "testcase", classname=result.scenario,
                                          name=verdict.name)  # fmt: skip
            if verdict.status == "KNOWN BROKEN":  # CI shows it, and the gate passes
                skipped = ElementTree.SubElement(
                    case, "skipped", message=f"KNOWN BROKEN: {verdict.known_broken}"[:500]
                )
                skipped.text = (f"expected: {verdict.expected}\nobserved: {verdict.observed}\n"
                                f"{verdict.message}")  # fmt: skip
            elif not verdict.ok:
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
