"""Attack: ``kill -9`` of ``chaos run`` at five moments of a run, and of a pytest session (alone
and under ``-n 2``) holding stacks; 2 s later nothing of the run may be left, with no
``chaos clean``: no process (by run id, the watchdog by its command line), no listening port of
the stack, no registered run, no labelled docker object.

Issue 17 asks this of the reaper that outlives its runner. Run it under the stack lock::

    flock /tmp/chaos-stack.lock .venv/bin/python benchmarks/attack_kill9.py [--backend docker]

It prints one table row per attack (moment, seconds from kill to the check, what was left) and
exits 1 when something was left.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from soak import _processes_of, ports_of  # noqa: E402

from chaos.journal import read_journal  # noqa: E402
from chaos.stack._waiting import poll_until  # noqa: E402
from chaos.stack.local.ports import is_listening  # noqa: E402
from chaos.stack.local.reaping import registered_runs  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "scenarios" / "proxy-down.yaml"
#: Issue 17: nothing left 2 s after the kill.
LEFT_AFTER = 2.0
#: Bound for a moment to come (stack start on two shared cores, then the scenario's timeline).
MOMENT_WITHIN = 180.0


def _kinds(run_dir: Path) -> list[tuple[str, dict]]:
    if not (run_dir / "journal.jsonl").exists():
        return []
    try:
        return [(event.kind, dict(event.data)) for event in read_journal(run_dir)]
    except Exception:  # noqa: BLE001 - a line being written: look again
        return []


#: Each moment: a condition on the run directory (the journal, the pidfiles).
MOMENTS: dict[str, Callable[[Path], bool]] = {
    "start": lambda d: any((d / "pids").glob("*.pid")) and not any(
        k == "run.started" for k, _ in _kinds(d)),
    "workload": lambda d: any(k == "phase" and e.get("name") == "workload" for k, e in _kinds(d)),
    "outage": lambda d: any(k == "fault.applied" for k, _ in _kinds(d)),
    "drain": lambda d: any(k == "phase" and e.get("name") == "drain" for k, e in _kinds(d)),
    "check": lambda d: any(k == "run.finished" for k, _ in _kinds(d)),
}


def _left(run_id: str, run_dir: Path, ports: set[int], backend: str) -> list[str]:
    left = _processes_of(run_id)
    left += [f"port {port}" for port in sorted(ports) if is_listening(port)]
    left += [f"run {run_id} registered" for r in registered_runs() if r.run_id == run_id]
    if backend == "docker":
        from chaos.stack.docker import labelled_leftovers

        left += labelled_leftovers(run_id)
    return left


def _ports_now(run_id: str, run_dir: Path) -> set[int]:
    """The stack's ports (stack.json) and what the run's processes listen on at the kill."""
    import psutil

    ports = set()
    if (run_dir / "stack.json").exists():
        ports |= ports_of(json.loads((run_dir / "stack.json").read_text()))
    for process in psutil.process_iter():
        try:
            if process.environ().get("CHAOS_RUN_ID") == run_id:
                ports |= {c.laddr.port for c in process.net_connections("inet")
                          if c.status == psutil.CONN_LISTEN}  # fmt: skip
        except psutil.Error:
            continue
    return ports


def kill_chaos_run_at(moment: str, backend: str, out: Path) -> tuple[str, float, list[str]]:
    out.mkdir(parents=True)
    run = subprocess.Popen(
        [sys.executable, "-m", "chaos", "run", "--backend", backend, "--out", str(out),
         "--no-report", str(SCENARIO)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        def reached() -> Path | None:
            for run_dir in out.iterdir():
                if MOMENTS[moment](run_dir):
                    return run_dir
            return None

        run_dir = poll_until(reached, MOMENT_WITHIN, interval=0.01, max_interval=0.02)
        if run_dir is None or run.poll() is not None:
            return moment, 0.0, [f"moment not reached (exit {run.poll()})"]
        run_id = run_dir.name
        ports = _ports_now(run_id, run_dir)
        os.kill(run.pid, signal.SIGKILL)
        killed = time.monotonic()
        run.wait(timeout=10)
        threading.Event().wait(LEFT_AFTER)  # the attack's own measure: what is left at 2 s
        return moment, time.monotonic() - killed, _left(run_id, run_dir, ports, backend)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait(timeout=10)


PYTEST_TEST = textwrap.dedent(
    """
    import json, os, threading
    from pathlib import Path
    import pytest

    @pytest.mark.parametrize("n", range(WORKERS))
    def test_held(chaos_stack, n):
        name = os.environ.get("PYTEST_XDIST_WORKER", "main")
        record = {"run_id": chaos_stack.run_id, "run_dir": str(chaos_stack.run_dir)}
        target = Path(os.environ["UP_DIR"]) / f"{name}.json"
        target.with_suffix(".tmp").write_text(json.dumps(record))
        target.with_suffix(".tmp").replace(target)
        threading.Event().wait(120)
    """
)


def kill_pytest(workers: int, backend: str, out: Path) -> tuple[str, float, list[str]]:
    out.mkdir(parents=True)
    (out / "test_held.py").write_text(PYTEST_TEST.replace("WORKERS", str(workers)))
    up = out / "up"
    up.mkdir()
    xdist = ["-n", str(workers)] if workers > 1 else []
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    session = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:django", "-q",
         *xdist, "--chaos-backend", backend, "--chaos-keep", f"--chaos-out={out / 'runs'}",
         "--rootdir", str(out), "-c", os.devnull, str(out / "test_held.py")],
        cwd=out, env={**env, "UP_DIR": str(up)}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    name = f"pytest{' -n ' + str(workers) if workers > 1 else ''}"
    try:
        if not poll_until(lambda: len(list(up.glob("*.json"))) == workers, MOMENT_WITHIN):
            return name, 0.0, ["stacks not up"]
        runs = [json.loads(path.read_text()) for path in up.glob("*.json")]
        ports = {r["run_id"]: _ports_now(r["run_id"], Path(r["run_dir"])) for r in runs}
        os.kill(session.pid, signal.SIGKILL)  # the session's main process only, as kill -9 PID
        killed = time.monotonic()
        session.wait(timeout=10)
        threading.Event().wait(LEFT_AFTER)
        left = [item for r in runs
                for item in _left(r["run_id"], Path(r["run_dir"]), ports[r["run_id"]], backend)]
        return name, time.monotonic() - killed, left  # fmt: skip
    finally:
        if session.poll() is None:
            session.kill()
            session.wait(timeout=10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default="local", choices=("local", "docker"))
    parser.add_argument("--only", nargs="*", help="moments (start workload outage drain check "
                        "pytest pytest-n2); default all")  # fmt: skip
    args = parser.parse_args(argv)
    wanted = args.only or [*MOMENTS, "pytest", "pytest-n2"]
    rows = []
    with tempfile.TemporaryDirectory(prefix="chaos-kill9-") as parent:
        for what in wanted:
            out = Path(parent) / what
            if what == "pytest":
                rows.append(kill_pytest(1, args.backend, out))
            elif what == "pytest-n2":
                rows.append(kill_pytest(2, args.backend, out))
            else:
                rows.append(kill_chaos_run_at(what, args.backend, out))
            moment, seconds, left = rows[-1]
            print(f"kill -9 {args.backend} at {moment:10} checked +{seconds:.2f} s: "
                  f"{'LEFT ' + '; '.join(left) if left else 'nothing left'}", flush=True)
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    failed = [row for row in rows if row[2]]
    print(f"{len(rows) - len(failed)} of {len(rows)} left nothing (load {load})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
