"""``chaos matrix``: the scenario library across Celery / kombu / redis-py versions (the upgrade gate).

Each version set gets its own cached virtualenv (``venvs``), the scenarios run there with
``chaos run`` (``running``), the verdicts are compared with the first set's (``comparing``) and
shown as a table and a JSON diff (``rendering``). Data flows one way: venvs -> running ->
comparing -> rendering.
"""

from chaos.matrix.comparing import CellResult, MatrixOutcome, Regression, compare
from chaos.matrix.venvs import VersionSet, VenvBuildError, VersionVenv, ensure_venv

__all__ = [
    "CellResult",
    "MatrixOutcome",
    "Regression",
    "VenvBuildError",
    "VersionSet",
    "VersionVenv",
    "compare",
    "ensure_venv",
]
