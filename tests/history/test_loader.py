"""Loading a run directory's journal: the journal the real writer leaves, a partial last line
(skipped and flagged, nothing else changed), shuffled lines, and no journal at all."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chaos.errors import ConfigError
from chaos.history import build_history, load_history
from chaos.journal import JOURNAL_FILE, JournalWriter
from chaos.testing import SyntheticRun
from tests.history.plans import comparable, synthetic_run, task_plans


def test_journal_from_the_real_writer_reads_back(tmp_path: Path) -> None:
    with JournalWriter.for_run_dir(tmp_path, "runner@test") as writer:
        writer.write("run.started", run_id="r", scenario="s", seed=1, backend="local")
        writer.write("enqueue.tried", task_id="t1", task="shop.tasks.x", path="naive", key="k")
        writer.write("enqueue.accepted", task_id="t1", task="shop.tasks.x", path="naive", key="k")
    history = load_history(tmp_path)
    assert history.meta.seed == 1 and history.tasks["t1"].accepted
    assert 0.0 <= history.tasks["t1"].accepted_at < 5.0  # one process, same clock: tiny


def test_partial_last_line_is_skipped_and_flagged(tmp_path: Path) -> None:
    run = SyntheticRun()
    run.publish(1.0, "t1", "order=1")
    run.write(tmp_path, partial_tail='{"kind":"task.started","wa')
    history = load_history(tmp_path)
    assert history.partial_last_line
    assert history.event_count == len(run.events)
    assert load_history(tmp_path / JOURNAL_FILE).tasks.keys() == {"t1"}


def test_shuffled_lines_give_the_same_history(tmp_path: Path) -> None:
    run = SyntheticRun()
    run.retried_task(1.0, "t1", "order=1", attempts=2, countdown=0.5, final="failure")
    run.fault("kill-1", "broker.kill", 2.0, 3.0)
    run.write(tmp_path / "a")
    run.write(tmp_path / "b", shuffle_seed=7)
    first, second = load_history(tmp_path / "a"), load_history(tmp_path / "b")
    first.source = second.source = None
    assert first == second


def test_missing_journal_is_a_config_error_naming_the_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no journal here"):
        load_history(tmp_path)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(plans=task_plans, seed=st.integers(0, 2**16), cut=st.integers(1, 60))
def test_a_partial_last_line_changes_nothing(plans, seed, cut) -> None:
    run = synthetic_run(plans, 0.0, True)
    whole_line = run.events[-1].to_json()
    with tempfile.TemporaryDirectory() as folder:
        tail = whole_line[: min(cut, len(whole_line) - 1)]
        run.write(Path(folder), shuffle_seed=seed, partial_tail=tail)
        loaded = load_history(folder)
    assert loaded.partial_last_line
    assert comparable(loaded) == build_history(run.events)
