"""One child process of a stack: its own process group, a log file, a pidfile in the run dir.

Every child runs in a new session (so its process group id is its pid and one ``killpg`` reaches
its pool children too) and carries the run id in its environment, so that ``chaos clean`` can find
what a crashed runner left behind even if a pidfile is missing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import psutil

from chaos.journal import ENV_RUN_ID

PIDS_DIR = "pids"
LOGS_DIR = "logs"


def read_log_tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file ('' if there is none), for error messages."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 16384))
            text = handle.read().decode(errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class ChildProcess:
    """A started (or startable) command with a name, a log and a pidfile."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        run_dir: Path,
        run_id: str,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.run_id = run_id
        self.cwd = cwd
        self.env = dict(os.environ if env is None else env)
        self.env[ENV_RUN_ID] = run_id
        self.log_path = run_dir / LOGS_DIR / f"{name}.log"
        self.pidfile = run_dir / PIDS_DIR / f"{name}.pid"
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen is not None else None

    def start(self) -> None:
        """Spawn the command; its output goes to the log (appended, so restarts keep history)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.pidfile.parent.mkdir(parents=True, exist_ok=True)
        self._launch()
        self._write_pidfile()

    def _launch(self) -> None:
        with self.log_path.open("ab") as log:
            self._popen = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _write_pidfile(self) -> None:
        pid = self.pid
        try:
            create_time = psutil.Process(pid).create_time() if pid else None
        except psutil.Error:
            create_time = None
        record = {
            "name": self.name,
            "pid": pid,
            "pgid": pid,
            "create_time": create_time,
            "argv": self.argv,
        }
        self.pidfile.write_text(json.dumps(record))

    def is_alive(self) -> bool:
        return self.returncode is None and self.pid is not None

    @property
    def returncode(self) -> int | None:
        return self._popen.poll() if self._popen is not None else None

    def send(self, signum: int) -> None:
        """Signal the main process only (e.g. SIGTERM for Celery's warm shutdown)."""
        pid = self.pid
        if pid is not None and self.is_alive():
            os.kill(pid, signum)

    def send_group(self, signum: int) -> None:
        """Signal the whole process group (main process and its pool children)."""
        pid = self.pid
        if pid is None:
            return
        try:
            os.killpg(pid, signum)
        except ProcessLookupError:
            pass

    def wait(self, timeout: float) -> bool:
        """True if the main process exited within ``timeout`` seconds."""
        if self._popen is None:
            return True
        try:
            self._popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def kill(self) -> None:
        """SIGKILL the whole group and reap the main process; the pidfile goes too."""
        self.send_group(signal.SIGKILL)
        self.wait(timeout=10.0)
        self.pidfile.unlink(missing_ok=True)

    def log_tail(self, lines: int = 40) -> str:
        return read_log_tail(self.log_path, lines)
