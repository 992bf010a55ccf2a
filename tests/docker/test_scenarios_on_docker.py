"""Scenario files from the library, run end to end on the docker backend.

Two that exercise what only this backend changes: the proxy in its own container (proxy-down) and
the failpoint plans the workers read through the runner's run service.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.runner.run import run_scenario

pytestmark = pytest.mark.docker

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


@pytest.mark.parametrize("name", ["proxy-down", "failpoint-send-invoice-email"])
def test_scenario_holds_on_the_docker_backend(name, docker_images, tmp_path):
    result = run_scenario(SCENARIOS / f"{name}.yaml", backend="docker", out_dir=tmp_path, quiet=True)
    failed = [str(verdict) for verdict in result.verdicts if not getattr(verdict, "ok", True)]
    assert result.ok, f"{name} on docker: {failed}; run dir {result.run_dir}"
