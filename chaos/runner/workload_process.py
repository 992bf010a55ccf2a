"""Starting and talking to the workload process (``python -m chaos.workload``)."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

from chaos.errors import StackError
from chaos.scenario.timeline import ResolvedTimeline
from chaos.stack.base import Stack

WORKLOAD_SPEC_FILE = "workload.json"
WORKLOAD_LOG_FILE = "workload.log"


class WorkloadProcess:
    """The producer side of a run, in its own process with the app's settings."""

    def __init__(self, stack: Stack, timeline: ResolvedTimeline, app: str, deadline: float) -> None:
        self.stack = stack
        self.run_dir = stack.run_dir
        spec = {
            "streams": [stream.model_dump() for stream in timeline.workload],
            "deadline": deadline,
            "app": app,
        }
        self.spec_path = self.run_dir / WORKLOAD_SPEC_FILE
        self.spec_path.write_text(json.dumps(spec, indent=2))
        self.log_path = self.run_dir / WORKLOAD_LOG_FILE
        self.lines: queue.Queue[str] = queue.Queue()
        self.said: set[str] = set()
        self.process: subprocess.Popen[str] | None = None

    def start(self, timeout: float) -> None:
        """Spawn and wait until it says ``ready`` (its app and Django are set up)."""
        env = self.stack.worker_env("workload")  # type: ignore[attr-defined]
        workdir = Path(self.stack.config.workdir)
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "chaos.workload", str(self.spec_path)],
                cwd=workdir, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=log, text=True, start_new_session=True,
            )  # fmt: skip
        threading.Thread(target=self._read_lines, daemon=True, name="workload-stdout").start()
        if not self.wait_for("ready", timeout):
            self.stop()
            raise StackError(
                "workload", f"the workload process did not get ready within {timeout:.0f} s",
                log_tail=self.log_tail(),
            )  # fmt: skip

    def go(self, t0: float) -> None:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(f"go {t0!r}\n")
        self.process.stdin.flush()

    def _read_lines(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.strip())

    def poll_said(self) -> set[str]:
        """Every status line read so far (``ready``, ``sent``, ``relayed``)."""
        while True:
            try:
                self.said.add(self.lines.get_nowait())
            except queue.Empty:
                return self.said

    def wait_for(self, word: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while word not in self.poll_said():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (self.process is not None and self.process.poll() is not None
                                  and self.lines.empty()):  # fmt: skip
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
        """Ask it to stop (SIGTERM ends its loops), then kill it if it does not."""
        if self.process is None or self.process.poll() is not None:
            return
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()  # a process still waiting for "go" reads EOF and exits
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
