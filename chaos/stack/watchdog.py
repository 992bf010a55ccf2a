"""The reaper that outlives its runner, as Testcontainers' Ryuk does, without a container.

A stack starts one small process per run (``python -m chaos.stack.watchdog``) in its own session,
holding the read end of a pipe whose only write end is the stack's owner (``chaos run``, a pytest
session). The kernel closes that end however the owner ends: ``close()`` first writes ``release``
and the watchdog exits; a ``kill -9`` closes the pipe with nothing said, and the watchdog stops
what the run left: its processes (by the run's pidfiles and ``CHAOS_RUN_ID`` in their
environment, each checked by pid and start time, so a reused pid is never hit), the extra
processes named on the pipe (``pid PID START``), and with ``--docker`` the containers, networks
and volumes labelled with the run id. No ``chaos clean`` is needed; it remains for what a killed
watchdog would leave.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

RELEASE = b"release\n"
#: A creation the owner had in flight when it died (a fork, a docker create) lands a little
#: later: the watchdog looks again at these delays (seconds after the first pass).
SECOND_LOOKS = (0.3, 1.0)
LOG_NAME = "watchdog.log"
_RUN_VARIABLES = ("CHAOS_RUN_ID", "CHAOS_RUN_DIR", "CHAOS_WORKER_NAME")


class Watchdog:
    """The owner's side: the pipe's write end and the watchdog process."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self._pipe: IO[bytes] | None = process.stdin

    @classmethod
    def start(cls, run_id: str, run_dir: Path, *, docker: bool = False) -> Watchdog:
        """Spawn the watchdog for ``run_id`` (returns at once; it imports while the stack starts)."""
        import psutil

        me = psutil.Process()
        argv = [sys.executable, "-m", "chaos.stack.watchdog", "--run-id", run_id,
                "--run-dir", str(run_dir), "--owner", f"{me.pid}:{me.create_time()!r}"]  # fmt: skip
        if docker:
            argv.append("--docker")
        log_path = Path(run_dir) / "logs" / LOG_NAME
        log_path.parent.mkdir(parents=True, exist_ok=True)
        # Not one of the run's processes: the reaper must not find itself by the run id.
        env = {k: v for k, v in os.environ.items() if k not in _RUN_VARIABLES}
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, env=env,
                start_new_session=True, close_fds=True,
            )  # fmt: skip
        return cls(process)

    @property
    def pid(self) -> int:
        return self.process.pid

    def watch(self, pid: int) -> None:
        """Also stop ``pid`` (by start time) if the owner dies: for a process that carries no
        pidfile and no run id in its environment."""
        import psutil

        try:
            started = psutil.Process(pid).create_time()
        except psutil.Error:
            return
        self._say(f"pid {pid} {started!r}\n".encode())

    def release(self) -> None:
        """The run ended normally: the watchdog exits without touching anything."""
        self._say(RELEASE)
        self._close()
        try:
            self.process.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            pass  # it exits on its own; the pipe is closed

    def abandon(self) -> None:
        """Close the pipe without ``release``: the watchdog reaps now (a close that failed)."""
        self._close()

    def _say(self, line: bytes) -> None:
        if self._pipe is None:
            return
        try:
            self._pipe.write(line)
            self._pipe.flush()
        except (BrokenPipeError, ValueError):
            self._pipe = None  # the watchdog is gone; the stack still runs

    def _close(self) -> None:
        if self._pipe is not None:
            try:
                self._pipe.close()
            except BrokenPipeError:
                pass
            self._pipe = None


# --- the watchdog process ---------------------------------------------------------------------


@contextmanager
def closing_under(watchdog: Watchdog | None) -> Iterator[None]:
    """A stack's ``close()`` body: the watchdog is released when it ends cleanly, and abandoned
    (it reaps what the close left) when it raises, a second Ctrl-C included."""
    try:
        yield
    except BaseException:
        if watchdog is not None:
            watchdog.abandon()
        raise
    if watchdog is not None:
        watchdog.release()


def _kill_named(named: list[tuple[int, float]]) -> list[int]:
    import psutil

    killed = []
    for pid, started in named:
        try:
            process = psutil.Process(pid)
            if abs(process.create_time() - started) > 0.05:
                continue  # the pid was reused: not ours
            if os.getpgid(pid) == pid:
                os.killpg(pid, signal.SIGKILL)
            process.kill()
            killed.append(pid)
        except (ProcessLookupError, psutil.Error):
            continue
    return killed


def _reap(args: argparse.Namespace, named: list[tuple[int, float]], log: IO[str]) -> None:
    from chaos.stack.local.reaping import RunRecord, reap_run

    owner_pid, _, owner_started = args.owner.partition(":")
    record = RunRecord(run_id=args.run_id, run_dir=args.run_dir, owner_pid=int(owner_pid),
                       owner_create_time=float(owner_started), started_wall=time.time())  # fmt: skip
    began = time.monotonic()
    for delay in (0.0, *SECOND_LOOKS):
        pause = began + delay - time.monotonic()
        if pause > 0:
            time.sleep(pause)  # a second look, not a synchronisation: see SECOND_LOOKS
        killed = _kill_named(named) + reap_run(record)
        removed: list[str] = []
        if args.docker:
            removed = _reap_docker(args.run_id, log)
        if killed or removed or delay == 0.0:
            print(f"{time.time():.3f} +{time.monotonic() - began:.3f}s reaped {args.run_id}: "
                  f"pids {killed or 'none'}; docker {removed or 'none'}", file=log, flush=True)  # fmt: skip


def _reap_docker(run_id: str, log: IO[str]) -> list[str]:
    try:
        from chaos.stack.docker.engine import connect_engine
        from chaos.stack.docker.reaping import reap_docker

        return reap_docker(run_id, client=connect_engine())
    except Exception as exc:  # noqa: BLE001 - the log says why; the next look tries again
        print(f"docker: nothing reaped ({exc})", file=log, flush=True)
        return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos.stack.watchdog")
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--owner", required=True, help="PID:START of the stack's owner")
    parser.add_argument("--docker", action="store_true")
    args = parser.parse_args(argv)
    for signum in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM, signal.SIGPIPE):
        signal.signal(signum, signal.SIG_IGN)  # only the pipe ends a watchdog (or SIGKILL)
    # Import now, while the owner's stack starts: after the owner dies every millisecond counts.
    import psutil  # noqa: F401

    import chaos.stack.local.reaping  # noqa: F401

    if args.docker:
        import chaos.stack.docker.reaping  # noqa: F401
    named: list[tuple[int, float]] = []
    for line in sys.stdin.buffer:
        if line == RELEASE:
            return 0
        words = line.split()
        if len(words) == 3 and words[0] == b"pid":
            named.append((int(words[1]), float(words[2])))
    _reap(args, named, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
