"""Durations as people write them in an incident report: ``2s``, ``500ms``, ``1.5m``.

A bare number is refused on purpose: ``for: 5`` could mean seconds or milliseconds, and a scenario
that guesses wrong runs a different experiment.
"""

from __future__ import annotations

import re

_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_DURATION = re.compile(r"^\s*(?P<number>[-+]?\d+(?:\.\d+)?)\s*(?P<unit>ms|s|min|m|h)\s*$")

DURATION_EXPECTED = "a duration with a unit such as 2s, 500ms or 1.5m"


def parse_duration(value: object) -> float:
    """Seconds for ``value``; ValueError with what was expected for anything else."""
    # ValueError, not TypeError, throughout: pydantic turns only ValueError into a located error.
    if isinstance(value, bool):
        raise ValueError(f"expected {DURATION_EXPECTED}")  # noqa: TRY004
    if isinstance(value, (int, float)):
        raise ValueError(f"unitless duration {value!r}: write {value}s or {value}ms")  # noqa: TRY004
    if not isinstance(value, str):
        raise ValueError(f"expected {DURATION_EXPECTED}")  # noqa: TRY004
    match = _DURATION.match(value)
    if match is None:
        raise ValueError(f"{value!r} is not {DURATION_EXPECTED}")
    seconds = float(match["number"]) * _UNIT_SECONDS[match["unit"]]
    if seconds < 0:
        raise ValueError(f"negative duration {value!r}: a time can only go forward")
    return seconds


def format_duration(seconds: float) -> str:
    """The inverse of ``parse_duration`` for messages and resolved timelines."""
    if seconds and seconds < 1:
        return f"{seconds * 1000:g}ms"
    return f"{seconds:g}s"
