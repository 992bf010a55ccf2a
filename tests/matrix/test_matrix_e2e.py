"""A real matrix: two version sets, each in its own venv, over one short scenario."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chaos.matrix.venvs import VersionSet, ensure_venv

ROOT = Path(__file__).resolve().parents[2]
SETS = ("celery==5.6.2 kombu==5.6.2", "celery==5.7.0 kombu==5.7.0")


@pytest.mark.slow
def test_a_matrix_runs_each_set_in_its_own_venv_and_compares_with_the_baseline(
    tmp_path: Path,
) -> None:
    report = tmp_path / "matrix.json"
    env = {**os.environ, "CHAOS_SKIP_DOCKER_SETUP": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "chaos", "matrix", str(ROOT / "scenarios" / "proxy-down.yaml"),
         "--versions", SETS[0], "--versions", SETS[1], "--seed", "7",
         "--out", str(tmp_path / "runs"), "--json", str(report)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stdout + done.stderr
    document = json.loads(report.read_text())
    assert document["baseline"] == SETS[0]
    assert document["venvs"][SETS[0]]["versions"]["celery"] == "5.6.2"
    assert document["venvs"][SETS[1]]["versions"]["kombu"] == "5.7.0"
    cells = document["cells"]["proxy-down"]
    assert {cells[label]["status"] for label in SETS} <= {"held", "failed"}
    for label in SETS:
        assert Path(cells[label]["run_dir"], "report.json").exists()
        assert json.loads(Path(cells[label]["run_dir"], "run.json").read_text())["seed"] == 7
    assert done.returncode == (1 if document["regressions"] else 0)
    assert "proxy-down" in done.stdout and "(baseline)" in done.stdout
    # The dev install carries the matrix extra, so a set's venv is built by uv (seconds, not the
    # minutes pip takes) unless an earlier run cached it.
    assert "(pip)" not in done.stdout, done.stdout
    # The second time a set is asked for, its venv comes from the cache.
    again = ensure_venv(VersionSet.parse(SETS[0]), ROOT)
    assert again.cached and again.build_seconds == 0.0
