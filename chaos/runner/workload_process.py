"""Starting and talking to the workload process (``python -m chaos.workload``).

The process is spawned before the stack starts, so that its interpreter, app import and
``django.setup()`` (about a second) overlap the stack's own start-up. It learns the broker URL
once the stack is up, warms its connections, and starts sending on ``go``.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from chaos.errors import StackError
from chaos.journal import ENV_RUN_DIR, ENV_RUN_ID
from chaos.scenario.timeline import ResolvedTimeline
from chaos.stack._django_db import database_env
from chaos.stack.base import Stack, StackConfig
from chaos.workload import ENV_WORKLOAD_SPEC

WORKLOAD_SPEC_FILE = "workload.json"
WORKLOAD_LOG_FILE = "workload.log"
#: Both backends copy the run's migrated database here (the docker one fetches it from the engine).
RUN_DATABASE_FILE = "db.sqlite3"
#: Variables of an enclosing run that must not leak into this one.
_RUN_VARIABLES = ("CHAOS_WORKER_NAME", "CHAOS_CELERY_SETTINGS", "CHAOS_BROKER_WAIT",
                  "DJANGO_SETTINGS_MODULE", "DJANGO_DB_PATH", "CELERY_BROKER_URL",
                  "CHAOS_RUN_DATABASE", "CHAOS_RUN_DATABASE_ALIAS")  # fmt: skip


def workload_env(run_dir: Path, run_id: str, config: StackConfig) -> dict[str, str]:
    """The app's environment as the workers get it (its ``env``, the run's database), for the
    producer side."""
    env = {
        k: v for k, v in os.environ.items() if k not in (*_RUN_VARIABLES, ENV_RUN_DIR, ENV_RUN_ID)
    }
    env[ENV_RUN_DIR] = str(run_dir)
    env[ENV_RUN_ID] = run_id
    workdir = str(Path(config.workdir).resolve())
    env["PYTHONPATH"] = os.pathsep.join([workdir, *filter(None, [env.get("PYTHONPATH")])])
    env["CHAOS_CELERY_SETTINGS"] = json.dumps(dict(config.celery_settings))
    env.update(config.env)
    if config.settings_module:
        env.update(database_env(config.settings_module, run_dir / RUN_DATABASE_FILE, env,
                                via_env=config.database_env))  # fmt: skip
    return env


class WorkloadProcess:
    """The producer side of a run, in its own process with the app's settings."""

    def __init__(self, run_dir: Path, timeline: ResolvedTimeline, app: str, workdir: Path,
                 env: dict[str, str], deadline: float,
                 beside_workers: bool = False) -> None:  # fmt: skip
        self.run_dir = run_dir
        self.workdir = workdir
        self.env = env
        spec = {
            "streams": [stream.model_dump() for stream in timeline.workload],
            "deadline": deadline,
            "app": app,
        }
        self.spec_path = run_dir / WORKLOAD_SPEC_FILE
        self.spec_path.write_text(json.dumps(spec, indent=2))
        self.log_path = run_dir / WORKLOAD_LOG_FILE
        self.lines: queue.Queue[str] = queue.Queue()
        self.said: set[str] = set()
        self.process: Any = None
        """A ``subprocess.Popen``, or a handle with its interface (a producer container)."""
        self.beside_workers = beside_workers
        """Started by the stack where its workers run (``spawn_beside_workers``), not here."""

    def spawn(self) -> None:
        """Start it on this machine (no-op for one that runs beside the workers)."""
        if self.beside_workers:
            return
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "chaos.workload", str(self.spec_path)],
                cwd=self.workdir, env=self.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=log, text=True, start_new_session=True,
            )  # fmt: skip
        threading.Thread(target=self._read_lines, daemon=True, name="workload-stdout").start()

    def spawn_beside_workers(self, stack: Stack) -> None:
        """Start it where the stack's workers run (``Stack.start_producer``: on a docker engine,
        for an app whose database lives there), with the spec as text and the app's Celery
        settings; the stack adds the app's environment, the run's database and clock. No-op
        for one that runs here."""
        if not self.beside_workers:
            return
        env = {"CHAOS_CELERY_SETTINGS": json.dumps(dict(stack.config.celery_settings)),
               ENV_WORKLOAD_SPEC: self.spec_path.read_text()}  # fmt: skip
        self.log_path.write_text("")
        self.process = stack.start_producer(["python", "-m", "chaos.workload", "-"], env,
                                            self.log_path)  # fmt: skip
        threading.Thread(target=self._read_lines, daemon=True, name="workload-stdout").start()

    def broker_url(self, stack: Stack) -> str:
        """The proxy's address as this process reaches it (a producer beside the workers dials
        the proxy's alias on the stack's network, as they do)."""
        return stack.worker_broker_url if self.beside_workers else stack.producer_broker_url

    def connect(self, broker_url: str, timeout: float) -> None:
        """Give it the broker URL once the stack is up; wait until it is set up and warm."""
        self._expect("ready", timeout)
        self._tell(f"broker {broker_url}")
        self._expect("warm", timeout)

    def go(self, t0: float) -> None:
        self._tell(f"go {t0!r}")

    def _tell(self, line: str) -> None:
        assert self.process is not None and self.process.stdin is not None
        try:
            self.process.stdin.write(line + "\n")
            self.process.stdin.flush()
        except BrokenPipeError as exc:
            raise StackError("workload", "the workload process is gone",
                             log_tail=self.log_tail()) from exc  # fmt: skip

    def _expect(self, word: str, timeout: float) -> None:
        if not self.wait_for(word, timeout):
            raise StackError(
                "workload", f"the workload process did not say {word!r} within {timeout:.0f} s",
                log_tail=self.log_tail(),
            )  # fmt: skip

    def _read_lines(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.strip())

    def poll_said(self) -> set[str]:
        """Every status line read so far (``ready``, ``warm``, ``sent``, ``relayed``)."""
        while True:
            try:
                self.said.add(self.lines.get_nowait())
            except queue.Empty:
                return self.said

    def wait_for(self, word: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while word not in self.poll_said():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (self.finished and self.lines.empty()):
                return word in self.poll_said()
            try:
                self.said.add(self.lines.get(timeout=min(remaining, 0.5)))
            except queue.Empty:
                continue
        return True

    def check_alive(self) -> None:
        """StackError if the workload died of an error: a producer that crashed is an
        infrastructure failure, not something the system under test did."""
        if self.process is not None and self.process.poll() not in (None, 0):
            raise StackError(
                "workload", f"the workload process exited with code {self.process.returncode}",
                log_tail=self.log_tail(),
            )  # fmt: skip

    @property
    def finished(self) -> bool:
        return self.process is None or self.process.poll() is not None

    def stop(self, grace: float = 5.0) -> None:
        """Ask it to stop (EOF on stdin, SIGTERM ends its loops), then kill it if it does not."""
        if self.process is None or self.process.poll() is not None:
            return
        if self.process.stdin is not None and not self.process.stdin.closed:
            try:
                self.process.stdin.close()  # a process waiting for a line reads EOF and exits
            except BrokenPipeError:
                pass
        self.process.terminate()
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=grace)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
