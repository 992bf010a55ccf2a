"""One time origin for every output of a run: the runner's ``run.started`` event is 0 s.

The CLI's fault lines, the history built from the journal (and so the checks' messages),
report.json, the HTML page and the picture all give a time as seconds since that event, read
from the monotonic clock every writer on the host shares, and print it the same way. Before this
origin existed the console counted from its own creation (before the stack started), so a fault
it said was applied at 7.36 s was at 2.14 s in the report.
"""

from __future__ import annotations


def run_seconds(mono: float, started_mono: float) -> float:
    """A monotonic reading as seconds since the run started (``started_mono``: the ``mono`` of
    the runner's ``run.started`` event)."""
    return mono - started_mono


def format_seconds(at: float | None) -> str:
    """``12.03 s``: how every output writes a time relative to the run's start."""
    return "never" if at is None else f"{at:.2f} s"
