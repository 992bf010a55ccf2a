"""Run scenarios with ``chaos run`` inside a version set's venv and read back their verdicts.

One ``chaos run`` per scenario and set, so that a stack that cannot start under one set marks
that one cell as an error and the rest of the matrix still runs. The verdicts come from the run
directory's ``report.json`` (the same file ``chaos check`` and the reports read), never from the
console output.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from chaos.matrix.comparing import CellResult, ExpectationResult
from chaos.matrix.venvs import VersionVenv

#: ``chaos run`` bounds each scenario itself; this only stops a process that hangs outright.
SCENARIO_TIMEOUT = 1200.0
ERROR_TAIL_LINES = 12


def expectation_results(report: dict) -> list[ExpectationResult]:
    """The verdicts of a report.json, keyed ``check`` or ``check#2`` when a check repeats."""
    seen: dict[str, int] = {}
    results = []
    for verdict in report.get("verdicts", []):
        name = verdict["name"]
        seen[name] = seen.get(name, 0) + 1
        key = name if seen[name] == 1 else f"{name}#{seen[name]}"
        results.append(ExpectationResult(key, bool(verdict["ok"]), verdict.get("message", "")))
    return results


def run_cell(venv: VersionVenv, scenario: Path, out_dir: Path, *, backend: str,
             seed: int | None, env: dict[str, str] | None = None) -> CellResult:  # fmt: skip
    """``chaos run SCENARIO`` with the venv's interpreter; the cell it fills in the matrix."""
    out_dir.mkdir(parents=True, exist_ok=True)
    before = set(out_dir.glob("*/report.json"))
    command = [str(venv.python), "-m", "chaos", "run", str(scenario), "--backend", backend,
               "--out", str(out_dir), "--no-picture"]  # fmt: skip
    if seed is not None:
        command += ["--seed", str(seed)]
    log = out_dir / f"{scenario.stem}.log"
    began = time.monotonic()
    try:
        with log.open("w") as sink:
            done = subprocess.run(command, stdout=sink, stderr=subprocess.STDOUT, env=env,
                                  timeout=SCENARIO_TIMEOUT, check=False)  # fmt: skip
        code = done.returncode
    except subprocess.TimeoutExpired:
        code = -1
    seconds = time.monotonic() - began
    reports = sorted(set(out_dir.glob("*/report.json")) - before)
    if code in (0, 1) and reports:
        report = json.loads(reports[-1].read_text())
        return CellResult(
            status="held" if report.get("ok") else "failed",
            expectations=expectation_results(report),
            seconds=seconds,
            run_dir=str(reports[-1].parent),
        )
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-ERROR_TAIL_LINES:])
    return CellResult(status="error", expectations=[], seconds=seconds,
                      error=f"chaos run exited {code}: {tail}", run_dir=None)  # fmt: skip
