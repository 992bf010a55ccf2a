"""The journal read into columns a block at a time: lines cut by a block's end, and the lines
that are not one event (named by file and line), blank lines (skipped)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.errors import ConfigError
from chaos.history import build_history, columns, load_history
from chaos.testing import SyntheticRun
from tests.history.plans import comparable


def test_lines_cut_by_the_end_of_a_block_read_back_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = SyntheticRun()
    for index in range(20):
        run.retried_task(index * 0.5, f"t{index}", f"order={index}", attempts=2, countdown=0.2)
    run.write(tmp_path, shuffle_seed=1)
    # Blocks of 300 bytes: most lines straddle two blocks, some blocks hold no newline at all.
    monkeypatch.setattr(columns, "PARSE_BLOCK_BYTES", 300)
    # The line-by-line reader is only for journals the block reader rejects: not this one.
    monkeypatch.setattr(columns, "read_journal", _not_expected)
    assert comparable(load_history(tmp_path)) == build_history(run.events)


def _not_expected(path: Path) -> None:
    raise AssertionError(f"{path} read line by line: the block reader rejected a good journal")


def test_a_malformed_line_inside_the_journal_names_file_and_line(tmp_path: Path) -> None:
    run = SyntheticRun()
    run.publish(1.0, "t1", "order=1")
    path = run.write(tmp_path)
    lines = path.read_text().splitlines(keepends=True)
    lines.insert(2, "{not json\n")
    path.write_text("".join(lines))
    with pytest.raises(ConfigError, match=r"journal.jsonl:3"):
        load_history(tmp_path)


def test_a_line_holding_two_events_names_file_and_line(tmp_path: Path) -> None:
    run = SyntheticRun()
    run.publish(1.0, "t1", "order=1")
    path = run.write(tmp_path)
    lines = path.read_text().splitlines()
    lines[1] = f"{lines[1]},{lines[2]}"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match=r"journal.jsonl:2"):
        load_history(tmp_path)


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    run = SyntheticRun()
    run.publish(1.0, "t1", "order=1")
    path = run.write(tmp_path)
    path.write_text(path.read_text().replace("\n", "\n\n", 1))
    history = load_history(tmp_path)
    assert history.event_count == len(run.events) and history.tasks["t1"].accepted
