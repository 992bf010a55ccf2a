"""The registry of live runs and the reaper that stops what a crashed runner left behind.

A stack registers its run in a state directory shared by every run on the machine
(``$CHAOS_STATE_DIR``, default ``~/.cache/celery-chaos``) with its owner's pid and start time.
A run whose owner is gone (``kill -9`` of the runner) is stale: its processes are found by the
pidfiles in its run directory and by the run id in their environment, and killed by group.
"""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from chaos.journal import ENV_RUN_ID
from chaos.stack._state_dir import state_dir
from chaos.stack.local.process import PIDS_DIR


def runs_dir() -> Path:
    return state_dir() / "runs"


@dataclass(frozen=True)
class RunRecord:
    """One registered run: who owns it and where its pidfiles are."""

    run_id: str
    run_dir: str
    owner_pid: int
    owner_create_time: float | None
    started_wall: float

    def owner_alive(self) -> bool:
        try:
            owner = psutil.Process(self.owner_pid)
            if self.owner_create_time is None:
                return owner.is_running()
            return abs(owner.create_time() - self.owner_create_time) < 0.05
        except psutil.Error:
            return False


def register_run(run_id: str, run_dir: Path) -> RunRecord:
    """Record that this process owns ``run_id`` (written atomically)."""
    record = RunRecord(
        run_id=run_id,
        run_dir=str(run_dir),
        owner_pid=os.getpid(),
        owner_create_time=psutil.Process().create_time(),
        started_wall=time.time(),
    )
    directory = runs_dir()
    directory.mkdir(parents=True, exist_ok=True)
    staging = directory / f".{run_id}.json.tmp"
    staging.write_text(json.dumps(asdict(record)))
    os.replace(staging, directory / f"{run_id}.json")
    return record


def unregister_run(run_id: str) -> None:
    (runs_dir() / f"{run_id}.json").unlink(missing_ok=True)


def registered_runs() -> list[RunRecord]:
    """Every registered run; unreadable entries are skipped (a half-written one is never seen)."""
    records = []
    directory = runs_dir()
    if not directory.is_dir():
        return records
    for entry in sorted(directory.glob("*.json")):
        try:
            records.append(RunRecord(**json.loads(entry.read_text())))
        except (OSError, ValueError, TypeError):
            continue
    return records


def _pidfile_processes(run_dir: Path) -> list[psutil.Process]:
    """Processes named by the run's pidfiles that are still the same processes (same start)."""
    found = []
    for pidfile in sorted((run_dir / PIDS_DIR).glob("*.pid")):
        try:
            record = json.loads(pidfile.read_text())
            process = psutil.Process(int(record["pid"]))
            created = record.get("create_time")
            if created is not None and abs(process.create_time() - created) > 0.05:
                continue
            found.append(process)
        except (OSError, ValueError, KeyError, psutil.Error):
            continue
    return found


def processes_with_run_id(run_id: str) -> list[psutil.Process]:
    """Processes whose environment carries this run id (pool children, lost pidfiles); zombies
    included. The tests ask it what a run left behind."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get(ENV_RUN_ID) == run_id:
                found.append(process)
        except psutil.Error:
            continue
    return found


def run_processes(record: RunRecord) -> list[psutil.Process]:
    """The run's live processes (by pidfile and start time, and by run id in their environment),
    this process excepted: what ``reap_run`` kills and ``chaos clean --dry-run`` lists."""
    me = os.getpid()
    found = {
        process.pid: process
        for process in _pidfile_processes(Path(record.run_dir)) + processes_with_run_id(record.run_id)
        if process.pid != me and _running(process)
    }
    return [found[pid] for pid in sorted(found)]


def _running(process: psutil.Process) -> bool:
    """Alive and not a zombie (a killed process whose parent died waits for init to reap it;
    it holds no port and no memory)."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def reap_run(record: RunRecord, wait: float = 5.0) -> list[int]:
    """SIGKILL every process of the run, group by group; returns the pids that were killed."""
    me = os.getpid()
    victims = run_processes(record)
    for process in victims:
        try:
            pgid = os.getpgid(process.pid)
            if pgid != os.getpgid(me):
                os.killpg(pgid, signal.SIGKILL)
            process.kill()
        except (ProcessLookupError, psutil.Error):
            continue
    deadline = time.monotonic() + wait
    while any(_running(process) for process in victims) and time.monotonic() < deadline:
        time.sleep(0.01)  # SIGKILL takes effect within milliseconds; this waits for that
    for pidfile in (Path(record.run_dir) / PIDS_DIR).glob("*.pid"):
        pidfile.unlink(missing_ok=True)
    unregister_run(record.run_id)
    return [process.pid for process in victims]


def reap_stale_runs() -> list[tuple[RunRecord, list[int]]]:
    """Reap every registered run whose owner is dead; returns what was reaped."""
    reaped = []
    for record in registered_runs():
        if not record.owner_alive():
            reaped.append((record, reap_run(record)))
    return reaped
