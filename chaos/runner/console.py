"""Console progress while a scenario runs: the phase, the active faults, tasks done of expected.

On a terminal a rich Live panel redraws in place; elsewhere (CI logs) one line is printed per
change of phase or of the active faults, so a log stays short and still tells the story.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.table import Table

from chaos.timebase import run_seconds


class RunConsole:
    """Shows one run's progress; a context manager around the run."""

    def __init__(self, scenario: str, expected_tasks: int, console: Console | None = None,
                 quiet: bool = False) -> None:  # fmt: skip
        self.console = console or Console(stderr=True)
        self.scenario = scenario
        self.expected_tasks = expected_tasks
        self.quiet = quiet
        self.phase = "start"
        self.active_faults: list[str] = []
        self.tasks_done = 0
        self.began = time.monotonic()
        self._now: Callable[[], float] = time.monotonic
        #: The ``mono`` of the run's ``run.started`` event: 0 s for every time printed once known.
        self.origin: float | None = None
        self._live: Live | None = None
        self._last_line: tuple[str, tuple[str, ...]] | None = None

    def __enter__(self) -> RunConsole:
        if not self.quiet and self.console.is_terminal:
            self._live = Live(self._panel(), console=self.console, refresh_per_second=4,
                              transient=True)  # fmt: skip
            self._live.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 trace: TracebackType | None) -> None:  # fmt: skip
        if self._live is not None:
            self._live.__exit__(kind, exc, trace)
            self._live = None

    def update(self, *, phase: str | None = None, active_faults: list[str] | None = None,
               tasks_done: int | None = None) -> None:  # fmt: skip
        if phase is not None:
            self.phase = phase
        if active_faults is not None:
            self.active_faults = active_faults
        if tasks_done is not None:
            self.tasks_done = tasks_done
        if self.quiet:
            return
        if self._live is not None:
            self._live.update(self._panel())
            return
        line = (self.phase, tuple(self.active_faults))
        if line != self._last_line:
            self._last_line = line
            self.console.print(self._line(), highlight=False)

    def start_clock(self, origin_mono: float, now: Callable[[], float] = time.monotonic) -> None:
        """From now on times count from the run's start, as the history and the reports do;
        ``now`` reads the same clock as ``origin_mono`` (the app's, under a dilated clock)."""
        self.origin = origin_mono
        self._now = now

    def note(self, text: str, at_mono: float | None = None) -> None:
        """A one-off line (a fault applied or healed) above the live panel, stamped with the
        run time of ``at_mono`` (the journaled event's own reading), else of now."""
        if not self.quiet:
            self.console.print(f"[dim]{self._stamp(at_mono)}[/dim] {text}", highlight=False)

    def _stamp(self, at_mono: float | None = None) -> str:
        """`` 12.03 s`` since the run started, or ``setup +4.1 s`` before it has."""
        if self.origin is None:
            return f"setup +{time.monotonic() - self.began:.1f} s"
        at = run_seconds(self._now() if at_mono is None else at_mono, self.origin)
        return f"{at:7.2f} s"

    def _elapsed(self) -> float:
        if self.origin is None:
            return time.monotonic() - self.began
        return run_seconds(self._now(), self.origin)

    def _line(self) -> str:
        faults = ", ".join(self.active_faults) or "none"
        return (f"[bold]{self.scenario}[/bold] {self._stamp()} phase={self.phase} "
                f"faults={faults} tasks={self.tasks_done}/{self.expected_tasks}")  # fmt: skip

    def _panel(self) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_row("scenario", self.scenario)
        table.add_row("run time" if self.origin is not None else "setting up",
                      f"{self._elapsed():.1f} s")
        table.add_row("phase", self.phase)
        table.add_row("active faults", ", ".join(self.active_faults) or "none")
        table.add_row("tasks done", f"{self.tasks_done} of {self.expected_tasks}")
        return table
