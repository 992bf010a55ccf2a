"""Which clock a run gets: the scenario's ``clock: {dilation: N}`` or the caller's override,
refused (ConfigError, exit 2, nothing started) where a dilated clock cannot hold."""

from __future__ import annotations

import re

from chaos.clock import MAX_DILATION, AppClock, ClockError, preload_libraries
from chaos.errors import ConfigError, Problem
from chaos.scenario import LoadedScenario

_DILATION_LINE = re.compile(r"^\s*(clock\s*:.*)?dilation\s*:", re.MULTILINE)

#: Backends whose app processes the runner can launch with libfaketime preloaded (docker:
#: in the worker image, chaos/stack/docker/dilation.py).
DILATABLE_BACKENDS = frozenset({"local", "docker"})


def dilation_problems(loaded: LoadedScenario, backend: str, dilation: float) -> list[Problem]:
    """Why ``dilation`` cannot be used for this scenario on ``backend`` (empty: it can)."""
    if dilation == 1.0:
        return []
    line = _line_of_dilation(loaded.text)
    where = {"file": loaded.path, "line": line, "field_path": "clock.dilation"}
    if not 1.0 <= dilation <= MAX_DILATION:
        return [Problem(f"dilation {dilation:g} is out of range", given=f"{dilation:g}",
                        expected=f"a number from 1 to {MAX_DILATION:g}", **where)]  # fmt: skip
    if backend not in DILATABLE_BACKENDS:
        return [Problem(
            f"a dilated clock (x{dilation:g}) cannot run on the {backend} backend: it cannot "
            "start its workers with libfaketime preloaded, so they would keep real time while "
            "the runner and the producer ran dilated",
            hint="use --backend local or docker, or --dilation 1 for this backend", **where,
        )]  # fmt: skip
    try:
        preload_libraries()
    except ClockError as exc:
        return [Problem(str(exc), **where)]
    return []


def app_clock(loaded: LoadedScenario, backend: str, dilation: float | None = None) -> AppClock:
    """The run's clock (not yet opened); ConfigError naming the line where it cannot hold.

    A dilation the caller asked for (``--dilation``) is refused where it cannot hold. The file's
    own ``clock:`` on a backend that cannot dilate, or on a machine without libfaketime, is
    capped to real time instead, and the clock says why (the journal and the console repeat it):
    the same library then runs everywhere, dilated where it can be.
    """
    chosen = loaded.scenario.clock.dilation if dilation is None else float(dilation)
    if dilation is None and chosen != 1.0 and backend not in DILATABLE_BACKENDS:
        clock = AppClock(1.0)
        clock.capped = (f"the scenario's dilation x{chosen:g} is capped to real time on the "
                        f"{backend} backend (it cannot preload libfaketime)")  # fmt: skip
        return clock
    if dilation is None and chosen != 1.0:
        try:
            preload_libraries()
        except ClockError as exc:  # a laptop without libfaketime still runs the library
            clock = AppClock(1.0)
            clock.capped = (f"the scenario's dilation x{chosen:g} is capped to real time: "
                            f"{exc}")  # fmt: skip
            return clock
    problems = dilation_problems(loaded, backend, chosen)
    if problems:
        raise ConfigError(problems)
    return AppClock(chosen)


def _line_of_dilation(text: str) -> int | None:
    match = _DILATION_LINE.search(text or "")
    return text.count("\n", 0, match.start()) + 1 if match else None
