"""One time origin: the console's fault lines count from the run's start, as the history does."""

from __future__ import annotations

import io

from rich.console import Console

from chaos.history import build_history
from chaos.runner.console import RunConsole
from chaos.testing import START_MONO, SyntheticRun
from chaos.timebase import format_seconds, run_seconds


def _console() -> tuple[RunConsole, io.StringIO]:
    out = io.StringIO()
    return RunConsole("s", 1, console=Console(file=out, width=200)), out


def test_a_fault_line_shows_the_journaled_event_in_run_time() -> None:
    show, out = _console()
    show.start_clock(100.0)
    show.note("applied kill-1", 102.137)
    assert out.getvalue().split() == ["2.14", "s", "applied", "kill-1"]


def test_before_the_run_starts_lines_say_setup_not_a_run_time() -> None:
    show, out = _console()
    show.note("something")
    assert out.getvalue().startswith("setup +")


def test_the_history_counts_from_the_same_event_as_run_seconds() -> None:
    run = SyntheticRun()
    run.fault("kill-1", "broker.kill", start=2.137, end=5.0)
    run.finish(6.0)
    history = build_history(run.events)
    started = next(e for e in run.events if e.kind == "run.started")
    applied = next(e for e in run.events if e.kind == "fault.applied")
    window = history.fault_windows[0]
    # 1e-6: the history maps each clock through wall offsets of about 1.8e9 s (float rounding).
    assert abs(window.start - run_seconds(applied.mono, started.mono)) < 1e-6
    assert started.mono == START_MONO
    assert format_seconds(window.start) == "2.14 s"
