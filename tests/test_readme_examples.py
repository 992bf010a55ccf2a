"""The README's Python blocks, run as the README marks them; if this fails, the README is lying.

Each Python code block of README.md is preceded by a marker comment:

- ``<!-- test: run -->``: runs as it is in a fresh interpreter (the reference app on the path,
  no stack);
- ``<!-- test: suite tests/test_readme_examples.py -->``: the block is a test of this module,
  verbatim (its imports among this module's); the test itself runs here against a real stack;
- ``<!-- test: skip REASON -->``: not run, for the reason given.

An unmarked block fails, so a new example cannot slip in untested.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from chaos.pytest.assertions import assert_no_lost

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
THIS_FILE = Path(__file__).resolve()

MARKER = re.compile(r"<!-- test: (?P<kind>run|suite|skip)(?: (?P<argument>[^>]*?))? -->\n$")
FENCE = re.compile(r"^```python\n(?P<code>.*?)^```", re.S | re.M)


@dataclass(frozen=True)
class ReadmeBlock:
    line: int
    code: str
    kind: str | None
    argument: str | None

    @property
    def id(self) -> str:
        return f"README.md:{self.line}"


def readme_blocks() -> list[ReadmeBlock]:
    text = README.read_text()
    blocks = []
    for fence in FENCE.finditer(text):
        before = text[: fence.start()]
        previous_line = before[before.rstrip("\n").rfind("\n") + 1 :]
        marker = MARKER.search(previous_line)
        blocks.append(
            ReadmeBlock(
                line=before.count("\n") + 1,
                code=fence["code"],
                kind=marker["kind"] if marker else None,
                argument=marker["argument"] if marker else None,
            )
        )
    return blocks


BLOCKS = readme_blocks()


def _of_kind(kind: str) -> list[ReadmeBlock]:
    return [block for block in BLOCKS if block.kind == kind]


def test_every_python_block_of_the_readme_is_marked() -> None:
    assert BLOCKS, "no Python block found: the README or this parser changed"
    unmarked = [block.id for block in BLOCKS if block.kind is None]
    assert not unmarked, f"Python blocks without a <!-- test: ... --> marker: {unmarked}"
    skipped_without_reason = [block.id for block in _of_kind("skip") if not block.argument]
    assert not skipped_without_reason


@pytest.mark.parametrize("block", _of_kind("run"), ids=lambda block: block.id)
def test_runnable_readme_block_runs(block: ReadmeBlock, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "app"), os.environ.get("PYTHONPATH", "")]),
        "DJANGO_SETTINGS_MODULE": "myproject.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", block.code],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert result.returncode == 0, f"{block.id} failed:\n{result.stderr}"


def _functions_of(source: str) -> dict[str, str]:
    tree = ast.parse(source)
    return {
        node.name: ast.get_source_segment(source, node) or ""
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
    }


def _imports_of(source: str) -> list[str]:
    tree = ast.parse(source)
    return [
        ast.get_source_segment(source, node) or ""
        for node in tree.body
        if isinstance(node, (ast.Import, ast.ImportFrom))
    ]


@pytest.mark.parametrize("block", _of_kind("suite"), ids=lambda block: block.id)
def test_suite_readme_block_is_a_test_of_this_module_verbatim(block: ReadmeBlock) -> None:
    assert block.argument == str(THIS_FILE.relative_to(ROOT)), "a suite block names this file"
    mine = THIS_FILE.read_text()
    functions = _functions_of(block.code)
    assert functions, f"{block.id} defines no test"
    for name, code in functions.items():
        assert name.startswith("test_")
        assert _functions_of(mine).get(name) == code, f"{name} differs from {block.id}"
    for statement in _imports_of(block.code):
        assert statement in _imports_of(mine), f"{statement!r} of {block.id} is not imported here"


# The README's examples, verbatim: they run with the suite against a real stack.


@pytest.mark.chaos
def test_latency_does_not_lose_invoices(chaos_proxy, chaos_producer, chaos_journal):
    with chaos_proxy.toxic("latency", latency=500, jitter=100):
        sent = [
            chaos_producer.send("shop.tasks.send_invoice_email", [n], key=f"order={n}")
            for n in range(5)
        ]
    for outcome in sent:
        chaos_journal.wait_for_task(outcome.task_id, timeout=60)
    assert_no_lost(chaos_journal)


# fmt: off
@pytest.mark.chaos
def test_a_slow_link_loses_no_invoice(chaos_run):
    result = chaos_run({
        "name": "latency-blip",
        "workload": [{"path": "task", "task": "shop.tasks.send_invoice_email", "args": [1],
                      "count": 3, "rate": "2/s"}],
        "faults": [{"type": "proxy.toxic", "toxic": "latency", "attributes": {"latency": 200},
                    "at": "0s", "for": "2s"}],
        "expect": [{"check": "no_lost"}, {"check": "duplicates", "allowed": False}],
        "drain": "10s",
    })
    assert result.ok, [verdict.message for verdict in result.verdicts if not verdict.ok]
    assert [v.name for v in result.verdicts if not v.name.startswith("invariant:")] == [
        "no_lost",
        "duplicates",
    ]
# fmt: on
