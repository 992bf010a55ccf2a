"""The runner: drives a scenario against a stack and judges it; replays a recorded run.

``run_scenario(path | dict | Scenario, backend="local", seed=None, out_dir=None) -> RunResult``
is the Python entry point (the CLI and the pytest plugin call it); ``replay_run(run_dir)`` runs a
recorded run again with its seed and resolved timeline and compares the verdicts.
"""

from __future__ import annotations

from chaos.runner.replay import ReplayResult, VerdictDifference, replay_run
from chaos.runner.run import RunResult, run_scenario
from chaos.runner.rundir import DEFAULT_OUT_DIR, RecordedRun, read_recorded_run

__all__ = [
    "DEFAULT_OUT_DIR",
    "RecordedRun",
    "ReplayResult",
    "RunResult",
    "VerdictDifference",
    "read_recorded_run",
    "replay_run",
    "run_scenario",
]
