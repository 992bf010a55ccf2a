"""``chaos run --jobs N``: the scenarios N at a time, each in its own ``chaos run FILE`` process.

Why processes and not threads: a run owns process-wide state (signal handlers, DOCKER_HOST, the
app's Django settings, the journal's writer), so each scenario gets a fresh interpreter, started
with ``python -m chaos run FILE`` and the parent's options. Its console goes to a log file (N
progress displays at once would be unreadable); its verdicts come back in a JUnit file. Each
child is a session leader, so a Ctrl-C at the terminal reaches the parent alone, which passes
exactly one signal to every child: a second one would cut a child's clean-up short. Each child
also holds the read end of a pipe whose only writer is the parent: if the parent is killed
(``kill -9``, an OOM kill), the pipe closes and every child stops its stack as on SIGTERM.
"""

from __future__ import annotations

import argparse
import datetime
import os
import queue
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from chaos.cli.job_outcomes import (
    Job,
    Outcome,
    child_argv,
    engine_for_slot,
    merge_junit,
    outcome_line,
    plan_jobs,
    read_outcome,
    summary_lines,
    worst_exit,
)
from chaos.interruption import PARENT_PIPE_VARIABLE
from chaos.runner.rundir import run_files_error

#: How long the children get to stop their stacks after the run is interrupted. A docker stack's
#: removal takes a few seconds a container; past this, each child's process group is killed and
#: ``chaos clean`` reaps what it held.
STOP_SECONDS = 120.0


@dataclass
class _Running:
    job: Job
    process: subprocess.Popen[bytes]
    slot: int
    engine: str | None
    began: float


def run_in_parallel(files: list[Path], args: argparse.Namespace, out_dir: Path,
                    hosts: list[str]) -> int:  # fmt: skip
    """Run every file, ``args.jobs`` at a time; print a line as each ends, then the reports.
    Every scenario runs even when another hit an infrastructure error. Returns the worst exit
    code; an interrupt stops every child and is raised again (main exits 130 or 143)."""
    out_dir = out_dir.resolve()
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S")
    jobs_dir = out_dir / f"jobs-{stamp}-{secrets.token_hex(2)}"
    try:
        jobs_dir.mkdir(parents=True, exist_ok=False)
    except OSError as exc:  # as a run directory's: a file or read-only --out is bad input
        raise run_files_error(exc, out_dir, "create") from None
    plan = plan_jobs(files, jobs_dir)
    width = min(args.jobs, len(plan))
    print(f"{len(plan)} scenarios, {width} at a time ({args.backend} backend); each one's "
          f"console: {jobs_dir}", flush=True)  # fmt: skip
    lifeline, held = os.pipe()  # ``held``, the write end, never leaves this process
    try:
        outcomes = _run_all(plan, args, out_dir, hosts, width, lifeline)
    finally:
        os.close(lifeline)
        os.close(held)
    lines = summary_lines(outcomes, width, jobs_dir)
    if args.junit is not None:  # the counts stay the last line
        lines.insert(-1, f"JUnit XML: {merge_junit(outcomes, args.junit)}")
    print("\n".join(lines), flush=True)
    return worst_exit([outcome.code for outcome in outcomes])


def _run_all(plan: list[Job], args: argparse.Namespace, out_dir: Path, hosts: list[str],
             width: int, lifeline: int) -> list[Outcome]:  # fmt: skip
    pending = list(plan)
    free = list(range(width))
    running: dict[int, _Running] = {}
    ended: queue.Queue[tuple[int, int]] = queue.Queue()
    outcomes: list[Outcome] = []
    try:
        while pending or running:
            while pending and free:
                slot, job = free.pop(0), pending.pop(0)
                running[job.index] = _start(job, args, out_dir, engine_for_slot(hosts, slot),
                                            slot, ended, lifeline)  # fmt: skip
            index, code = ended.get()  # a signal interrupts the wait (KeyboardInterrupt)
            done = running.pop(index)
            free = sorted([*free, done.slot])
            outcome = read_outcome(done.job, code, time.monotonic() - done.began, done.engine)
            outcomes.append(outcome)
            print(outcome_line(outcome, len(outcomes), len(plan), len(hosts) > 1), flush=True)
    except BaseException as exc:  # an interrupt, or our own output failing: stop every child
        _stop(running, ended, int(getattr(exc, "signum", signal.SIGINT))
              if isinstance(exc, KeyboardInterrupt) else signal.SIGTERM)  # fmt: skip
        raise
    return outcomes


def _start(job: Job, args: argparse.Namespace, out_dir: Path, engine: str | None, slot: int,
           ended: queue.Queue[tuple[int, int]], lifeline: int) -> _Running:  # fmt: skip
    env = {**os.environ, PARENT_PIPE_VARIABLE: str(lifeline)}
    if engine is not None:
        env["DOCKER_HOST"] = engine
    with job.log.open("wb") as log:  # the child holds its own descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "chaos", *child_argv(job, args, out_dir)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
            start_new_session=True, pass_fds=(lifeline,),
        )  # fmt: skip
    running = _Running(job, process, slot, engine, time.monotonic())
    threading.Thread(target=lambda: ended.put((job.index, process.wait())),
                     name=f"chaos-job-{job.index}", daemon=True).start()  # fmt: skip
    return running


def _stop(running: dict[int, _Running], ended: queue.Queue[tuple[int, int]],
          signum: int) -> None:  # fmt: skip
    """Send ``signum`` once to every running child and wait (bounded) for each to stop its
    stack; a child still there after STOP_SECONDS loses its whole process group."""
    if threading.current_thread() is threading.main_thread():
        for ignored in (signal.SIGINT, signal.SIGTERM):  # one clean stop, not cut short
            signal.signal(ignored, signal.SIG_IGN)
    name = signal.Signals(signum).name
    for child in running.values():
        print(f"stopping {child.job.path.stem} ({name})", file=sys.stderr, flush=True)
        _signal_group(child.process, signum)
    deadline = time.monotonic() + STOP_SECONDS
    while running:
        try:
            index, _ = ended.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        running.pop(index, None)
    for child in running.values():
        print(f"{child.job.path.stem} did not stop within {STOP_SECONDS:g} s: killed; "
              "'chaos clean' reaps what it held", file=sys.stderr, flush=True)  # fmt: skip
        _signal_group(child.process, signal.SIGKILL)
        child.process.wait()


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    """SIGKILL goes to the child's whole process group (its workers too); any other signal to
    the child alone, whose clean-up stops its own stack."""
    try:
        if signum == signal.SIGKILL:
            os.killpg(process.pid, signum)
        else:
            process.send_signal(signum)
    except ProcessLookupError:
        pass
