"""A latency of the machine, in the app's seconds: N times longer under a dilated clock x N.

Some tolerances in the checks absorb what the machine takes, not what the app promises: a poll
tick, a signal landing, an ack in flight, a reconnect settling, a process starting, Redis's own
once-a-second fsync. Those take real seconds, and a dilated run's journal reads each of them N
times longer, so such a tolerance is stated in real seconds and converted here: a dilated run
then gets exactly the slack a real-time run gets, no more and no less.

A policy bound is never converted: a countdown, a backoff, a visibility_timeout, a scenario's
``within:`` deadline or its own ``tolerance:`` is the app's own time, which the clock dilates
already. A check that mixes both (Celery's reconnect backoff plus room for a slow start) adds
the policy part as it is to the machine part converted.
"""

from __future__ import annotations

from chaos.history.model import RunHistory


def dilation_of(history: RunHistory | float) -> float:
    """App seconds per real second in this run (1.0 in real time); a number is taken as is."""
    if isinstance(history, RunHistory):
        return history.meta.dilation
    return float(history)


def machine_allowance(history: RunHistory | float, real_seconds: float) -> float:
    """``real_seconds`` of the machine's latency as the app's seconds in ``history``'s run."""
    return real_seconds * dilation_of(history)


def dilated_note(history: RunHistory | float) -> str:
    """``, x10 for the dilated clock`` after a tolerance a dilated run scaled ('' in real time)."""
    dilation = dilation_of(history)
    return f", x{dilation:g} for the dilated clock" if dilation != 1.0 else ""
