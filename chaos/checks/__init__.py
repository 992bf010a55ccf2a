"""The checker: each invariant a small named function over a RunHistory that returns a Verdict.

A scenario names checks and their parameters as data (``{"check": "no_lost"}``,
``{"check": "retries_as_declared", "tolerance": 0.5}``); ``run_checks`` looks each up in
``CHECKS`` and calls it. A check never raises for what the system did: it says so in its verdict.
Bad parameters are a ConfigError naming the expectation and the parameter.

- ``registry``: ``CHECKS``, ``register``, ``resolve``, ``run_checks``;
- ``verdict``: the Verdict, and the one way a check's findings become one;
- ``promises``: known breakage (``known_broken:``), KNOWN BROKEN verdicts and "now holds";
- ``delivery``, ``enqueue``, ``eventual``, ``resume``, ``results``, ``retries``, ``sanity``: the
  checks, each a few named rules; ``faults``: what a fault window means for the broker;
- ``routing``, ``schedule``, ``explained``, ``liveness``, ``lost``, ``survival``, ``prefetch``,
  ``chains``: the always-on invariants (``INVARIANTS``, run by
  ``run_checks(..., invariants=True)``);
  ``capacity``: workers' free pool slots over time, which liveness and the retry schedule
  judge lateness by;
- ``allowance``: a tolerance for the machine's latency is real seconds, N times as many app
  seconds under a dilated clock (policy bounds never are);
- ``table``: the verdict table for the console.
"""

# The modules that define checks register them on import; so do the always-on invariants.
from chaos.checks import delivery, enqueue, eventual, resume, results, retries, sanity  # noqa: F401
from chaos.checks import explained, liveness, lost, redelivered, routing, schedule  # noqa: F401
from chaos.checks import chains, prefetch, survival  # noqa: F401
from chaos.checks.registry import (
    CHECKS,
    DEFAULT_EXPECTATIONS,
    INVARIANTS,
    Check,
    register,
    resolve,
    run_checks,
)
from chaos.checks.table import render_verdicts, verdict_table
from chaos.checks.verdict import Verdict

__all__ = [
    "CHECKS",
    "DEFAULT_EXPECTATIONS",
    "INVARIANTS",
    "Check",
    "Verdict",
    "register",
    "render_verdicts",
    "resolve",
    "run_checks",
    "verdict_table",
]
