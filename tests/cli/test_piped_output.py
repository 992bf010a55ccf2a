"""``chaos check`` into a pipe: every cell whole, and a reader that goes away ends it quietly."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from chaos.checks import DEFAULT_EXPECTATIONS, run_checks
from chaos.history import load_history
from tests.cli.conftest import CHAOS


def _words(text: str) -> list[str]:
    return text.split()


def test_piped_verdict_table_keeps_every_word(recorded_run: Path) -> None:
    piped = subprocess.run(
        f"{CHAOS} check {recorded_run} | cat",
        shell=True, capture_output=True, text=True, timeout=60,
        env={**os.environ, "COLUMNS": ""},
    )  # fmt: skip
    assert piped.returncode == 0, piped.stderr  # the shell reports cat's status
    assert "…" not in piped.stdout
    verdicts = run_checks(load_history(recorded_run), DEFAULT_EXPECTATIONS)
    assert not all(v.ok for v in verdicts)  # the failed row carries the longest message
    table = piped.stdout
    for verdict in verdicts:
        for word in _words(verdict.expected) + _words(verdict.observed) + _words(verdict.message):
            assert word in table, f"{word!r} of the {verdict.name} row is not in the piped table"


def test_json_into_a_closed_pipe_exits_quietly(recorded_run: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first byte, as after `head -1`
    try:
        result = subprocess.run(
            [CHAOS, "check", str(recorded_run), "--json"],
            stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60,
        )  # fmt: skip
    finally:
        os.close(write_end)
    assert result.stderr == ""
    assert result.returncode == 141  # 128 + SIGPIPE, as a shell reports a process SIGPIPE ended


def test_table_into_a_closed_pipe_exits_quietly(recorded_run: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [CHAOS, "check", str(recorded_run)],
            stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60,
        )  # fmt: skip
    finally:
        os.close(write_end)
    assert result.stderr == ""
    assert result.returncode == 141


def test_json_through_head_prints_its_first_line_and_no_traceback(recorded_run: Path) -> None:
    result = subprocess.run(
        f"set -o pipefail; {CHAOS} check {recorded_run} --json | head -1",
        shell=True, executable="/bin/bash", capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.stdout == "[\n"
    assert "Traceback" not in result.stderr and "BrokenPipeError" not in result.stderr
    # chaos either finished writing before head left (1: the lost task) or met the closed pipe.
    assert result.returncode in (1, 141)


def test_piped_json_is_whole_when_read_to_the_end(recorded_run: Path) -> None:
    result = subprocess.run(
        [CHAOS, "check", str(recorded_run), "--json"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    names = [v["name"] for v in json.loads(result.stdout)]
    # the default expectations, then the always-on invariants (chaos.checks.INVARIANTS)
    assert names[:3] == ["delivery", "retries_as_declared", "sanity"]
    assert names[3:] and all(name.startswith("invariant:") for name in names[3:])
