"""What the page adds under each verdict's "expected": the windows it judged, with the margin
the check applied, and, for ``enqueue``, how its counts relate to the run's refused publishes.

Numbers disagreed without this: ``enqueue`` counted 2 publishes refused while the header and the
picture showed 7, because the check counts only publishes tried and answered inside an outage
window shrunk by its margin (one answered by the restarted broker met a live one), and the margin
appeared nowhere.
"""

from __future__ import annotations

import inspect
from typing import Any

from chaos.checks.verdict import Verdict
from chaos.history import FaultWindow, RunHistory
from chaos.timebase import format_seconds


def parameter(verdict: Verdict, name: str) -> Any:
    """The verdict's parameter as the check ran it: the scenario's value, else the check's
    default (None when the check has no such parameter)."""
    if name in verdict.params:
        return verdict.params[name]
    from chaos.checks import CHECKS

    check = CHECKS.get(verdict.name)
    if check is None:
        return None
    found = inspect.signature(check).parameters.get(name)
    if found is None or found.default is inspect.Parameter.empty:
        return None
    return found.default


def _shrunk(window: FaultWindow, margin: float) -> str:
    if window.end is None:
        return f"{format_seconds(window.start + margin)} to the end"
    lo, hi = window.start + margin, window.end - margin
    if hi <= lo:
        return "nothing (the window is shorter than twice the margin)"
    return f"{format_seconds(lo)} to {format_seconds(hi)}"


def enqueue_counts(history: RunHistory, verdict: Verdict) -> str:
    """``7 publishes refused in the run: 2 inside ..., 5 outside ...``."""
    from chaos.checks.enqueue import publishes_in_outage
    from chaos.checks.faults import outage_windows

    margin = float(parameter(verdict, "margin") or 0.0)
    path = parameter(verdict, "path")
    refused = [e for e in history.producer_events if e.kind == "enqueue.refused"
               and (path is None or e.path == path)]  # fmt: skip
    inside = [p for p in publishes_in_outage(history, outage_windows(history), path, margin)
              if p.outcome in ("refused", "uncertain")]  # fmt: skip
    outside = len(refused) - len(inside)
    scope = f" on the {path} path" if path else ""
    return (f"{len(refused)} publishes refused in the run{scope}: {len(inside)} tried and "
            f"answered inside an outage window shrunk by the {margin:g} s margin (what this "
            f"check counts), {outside} outside it (near the fault's start or heal, or with no "
            "outage around them)")  # fmt: skip


def notes(history: RunHistory, verdict: Verdict) -> list[str]:
    """Lines for the "expected" cell: windows judged (shrunk by the margin), counts explained."""
    lines = []
    margin = parameter(verdict, "margin")
    windows = verdict.fault_windows
    if verdict.name == "enqueue":
        from chaos.checks.faults import outage_windows

        windows = outage_windows(history)
    if margin is not None and windows:
        judged = "; ".join(f"{w.describe()}, judged {_shrunk(w, float(margin))}" for w in windows)
        lines.append(f"margin {float(margin):g} s at both ends of each window: {judged}")
    elif margin is not None:
        lines.append(f"margin {float(margin):g} s")
    elif windows:
        lines.append("windows: " + "; ".join(w.describe() for w in windows[:4]))
    seconds = parameter(verdict, "seconds")
    if seconds is not None and verdict.name == "resume_within":
        lines.append(f"within {float(seconds):g} s of each heal")
    if verdict.name == "enqueue":
        lines.append(enqueue_counts(history, verdict))
    return lines
