"""Soak: K scenarios x R runs on one backend, each through the real ``chaos run``; the verdicts
must be the same run after run, and nothing may be left running after any run.

A flaky verdict is one a team cannot trust; a leftover (a process of the run, a port it listened
on, a container, network or volume with its label, a run still registered) is one a CI machine
pays for on its next job. Either makes the soak exit 1; so does a run that gave no verdict
(exit 2, 3 or a signal). Run it::

    python benchmarks/soak.py [--backend local|docker] [--runs R] [--scenarios K] [FILE ...]

(default: 5 short library scenarios x 3 runs on local; ``scripts/soak`` holds the stack lock
for the whole soak; ``--lock FILE`` takes a lock around each run instead).

Measured (2 shared cores, load 0.5-0.7): local 111 s, docker 135 s for the default 5 x 3, each
scenario's 10-12 verdicts identical in its 3 runs, nothing left after any of the 30 runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: Short ones (60 s timeouts, 8-15 s drains) touching the proxy, a failpoint, the workers and Redis.
DEFAULT_SCENARIOS = [
    REPO / "scenarios" / name
    for name in ("proxy-down.yaml", "failpoint-send-invoice-email.yaml",
                 "worker-warm-shutdown.yaml", "latency-500ms-jitter.yaml",
                 "broker-kill-burst-appendonly.yaml")
]  # fmt: skip
#: ``chaos run``'s exit codes that carry a verdict (0 held, 1 an expectation failed).
VERDICT_EXITS = (0, 1)
#: Bound for one ``chaos run`` (a 60 s scenario timeout plus stack start and stop, loaded).
RUN_TIMEOUT = 600.0
#: Ports on this machine's loopback only: a docker worker's ``redis://toxiproxy:8666`` is inside
#: the stack's network, not a port of this host.
_PORT_IN_URL = re.compile(r"://(?:127\.0\.0\.1|localhost):(\d+)")


@dataclass
class RunResult:
    """One ``chaos run`` of one scenario: its exit, verdicts and what it left behind."""

    scenario: str
    exit_code: int
    verdicts: tuple[tuple[str, str], ...]
    seconds: float
    leftovers: list[str] = field(default_factory=list)
    ports_checked: int = 0

    @property
    def summary(self) -> str:
        """The signature in short, for the progress line: the exit and verdicts by status."""
        counts: dict[str, int] = {}
        for _, status in self.verdicts:
            counts[status] = counts.get(status, 0) + 1
        cells = ", ".join(f"{count} {status}" for status, count in counts.items())
        return f"exit {self.exit_code}: {cells or 'no verdicts'}"

    @property
    def signature(self) -> str:
        """What must not change from run to run: the exit code and each verdict."""
        cells = ", ".join(f"{name} {status}" for name, status in self.verdicts)
        return f"exit {self.exit_code}: {cells or 'no verdicts'}"


# --- pure parts (tests/unit/test_soak.py) -----------------------------------------------------


def verdicts_of(report: Mapping) -> tuple[tuple[str, str], ...]:
    """(check name, status) per verdict of a report.json, in report order."""
    found = []
    for verdict in report.get("verdicts") or []:
        status = verdict.get("status") or ("held" if verdict.get("ok") else "failed")
        found.append((str(verdict.get("name")), str(status)))
    return tuple(found)


def ports_of(stack_record: Mapping) -> set[int]:
    """Every loopback TCP port a stack.json names: ``port`` fields and its URLs' ports."""
    ports: set[int] = set()
    pending: list[object] = [stack_record]
    while pending:
        value = pending.pop()
        if isinstance(value, Mapping):
            for key, item in value.items():
                if key.endswith("port") and isinstance(item, int) and not isinstance(item, bool):
                    ports.add(item)
                else:
                    pending.append(item)
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, str):
            ports.update(int(port) for port in _PORT_IN_URL.findall(value))
    return ports


def flaky_scenarios(results: Iterable[RunResult]) -> dict[str, list[str]]:
    """Scenarios whose runs differ: each with its distinct signatures, in order of appearance."""
    seen: dict[str, list[str]] = {}
    for result in results:
        signatures = seen.setdefault(result.scenario, [])
        if result.signature not in signatures:
            signatures.append(result.signature)
    return {name: signatures for name, signatures in seen.items() if len(signatures) > 1}


def soak_problems(results: Sequence[RunResult]) -> list[str]:
    """Why the soak fails (an empty list: it passes)."""
    problems = [
        f"{name}: verdicts differ run to run: {' | '.join(signatures)}"
        for name, signatures in flaky_scenarios(results).items()
    ]
    for number, result in enumerate(results, 1):
        if result.exit_code not in VERDICT_EXITS:
            problems.append(f"run {number} ({result.scenario}): exit {result.exit_code}, "
                            "no verdict")
        if result.leftovers:
            problems.append(f"run {number} ({result.scenario}) left {', '.join(result.leftovers)}")
    return problems


# --- the runs ----------------------------------------------------------------------------------


def _processes_of(run_id: str) -> list[str]:
    """Processes carrying the run id (in their environment, or on their command line: the
    watchdog)."""
    import psutil

    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        try:
            in_args = any(run_id in part for part in process.info["cmdline"] or [])
            if in_args or process.environ().get("CHAOS_RUN_ID") == run_id:
                words = " ".join(process.info["cmdline"] or [])[:60]
                found.append(f"process {process.pid} ({words})")
        except psutil.Error:
            continue
    return found


def leftovers_of(run_dir: Path, backend: str) -> tuple[list[str], int]:
    """What the run left (processes, listening ports, docker objects, its registry entry) and
    how many ports were checked."""
    from chaos.stack.local.ports import is_listening
    from chaos.stack.local.reaping import registered_runs

    stack_file = run_dir / "stack.json"
    if not stack_file.exists():  # never a clean bill by accident: say what was not checked
        return [f"no {stack_file} (its ports and containers unchecked)"], 0
    stack_record = json.loads(stack_file.read_text())
    run_id = str(stack_record.get("run_id") or run_dir.name)
    ports = ports_of(stack_record)
    left = _processes_of(run_id)
    left += [f"port {port} listening" for port in sorted(ports) if is_listening(port)]
    left += [f"run {run_id} registered" for r in registered_runs() if r.run_id == run_id]
    if backend == "docker":
        from chaos.stack.docker import labelled_leftovers

        left += labelled_leftovers(run_id)
    return left, len(ports)


def run_once(scenario: Path, backend: str, out: Path, lock: str | None) -> RunResult:
    """One real ``chaos run`` (under ``flock LOCK`` when given), then what it left."""
    out.mkdir(parents=True)
    command = [sys.executable, "-m", "chaos", "run", "--backend", backend, "--out", str(out),
               "--no-report", str(scenario)]  # fmt: skip
    if lock:
        command = ["flock", lock, *command]
    began = time.monotonic()
    finished = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT,
                              check=False, cwd=REPO)  # fmt: skip
    seconds = time.monotonic() - began
    run_dirs = [path.parent for path in out.rglob("report.json")] or [
        path for path in out.iterdir() if path.is_dir()
    ]
    reports = [run_dir / "report.json" for run_dir in run_dirs]
    report = json.loads(reports[0].read_text()) if reports and reports[0].exists() else {}
    left: list[str] = []
    ports_checked = 0
    for run_dir in run_dirs:
        found, ports = leftovers_of(run_dir, backend)
        left += found
        ports_checked += ports
    if finished.returncode not in VERDICT_EXITS:
        print(finished.stderr[-800:], file=sys.stderr)
        left = [item for item in left if "stack.json" not in item]  # already a failed run
    return RunResult(scenario.stem, finished.returncode, verdicts_of(report), seconds, left,
                     ports_checked)  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, help="scenarios (default: 5 short ones)")
    parser.add_argument("--backend", default="local", choices=("local", "docker"))
    parser.add_argument("--runs", type=int, default=3, help="runs of each scenario (default 3)")
    parser.add_argument("--scenarios", type=int, default=5, help="how many of the files (5)")
    parser.add_argument("--lock", default=None, help="flock this file around each run")
    args = parser.parse_args(argv)
    files = (args.files or DEFAULT_SCENARIOS)[: args.scenarios]
    results: list[RunResult] = []
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="chaos-soak-") as parent:
        for round_number in range(1, args.runs + 1):
            for file in files:
                out = Path(parent) / f"round-{round_number}-{file.stem}"
                result = run_once(file, args.backend, out, args.lock)
                results.append(result)
                print(f"round {round_number} {file.stem:36} {result.seconds:6.1f} s  "
                      f"{result.summary}; {result.ports_checked} ports checked"
                      f"{'  LEFT: ' + ', '.join(result.leftovers) if result.leftovers else ''}",
                      flush=True)  # fmt: skip
    problems = soak_problems(results)
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"soak {args.backend}: {len(files)} scenarios x {args.runs} runs in "
          f"{time.monotonic() - began:.0f} s (load {load}): "
          f"{'FAILED' if problems else 'identical verdicts, nothing left'}")  # fmt: skip
    for problem in problems:
        print(f"  {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
