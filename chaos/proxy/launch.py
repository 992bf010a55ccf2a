"""Start whichever Toxiproxy-compatible server the user has: a real ``toxiproxy-server`` or ours.

``CHAOS_TOXIPROXY_SERVER`` names a binary to use; the value ``builtin`` forces the project's own
server. Without the variable, a ``toxiproxy-server`` on PATH is used; else the project's own.
Both are driven only through the HTTP API, so the rest of the package cannot tell them apart
(except for the documented extensions: the ``redis_error`` toxic and ``/seed``).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

from chaos.errors import ChaosError, ConfigError, Problem, StackError
from chaos.proxy.server import Mode, ProxyServer, check_api_host

ENV_SERVER = "CHAOS_TOXIPROXY_SERVER"
BUILTIN = "builtin"


def find_toxiproxy_binary(binary: str | None = None) -> str | None:
    """The real server to use: ``binary``, else ``$CHAOS_TOXIPROXY_SERVER``, else PATH; None
    means the project's own (also when the variable says ``builtin``)."""
    choice = binary if binary is not None else os.environ.get(ENV_SERVER)
    if choice == BUILTIN:
        return None
    if choice:
        path = shutil.which(choice) or (choice if Path(choice).is_file() else None)
        if path is None or not os.access(path, os.X_OK):
            raise ConfigError(
                [
                    Problem(
                        "not an executable toxiproxy-server",
                        field_path=ENV_SERVER,
                        given=choice,
                        hint=f"unset it or set {ENV_SERVER}=builtin",
                    )
                ]
            )
        return path
    return shutil.which("toxiproxy-server")


def _free_port(host: str) -> int:
    # toxiproxy-server takes a fixed port; the small window between closing and its bind is the
    # price of supporting it (our own server binds port 0 itself).
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class ExternalToxiproxyServer:
    """A real ``toxiproxy-server`` process, with ProxyServer's interface."""

    kind = "toxiproxy"

    def __init__(
        self,
        binary: str,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        seed: int | None = None,
        start_timeout: float = 15.0,
        log_path: Path | str | None = None,
    ) -> None:
        self.binary = binary
        self.host = host
        self.port = port
        self.seed = seed
        self.start_timeout = start_timeout
        self.log_path = Path(log_path) if log_path is not None else None
        self.address = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None

    @property
    def api_url(self) -> str:
        return f"http://{self.address}"

    def client(self) -> Any:
        from chaos.proxy.client import ToxiproxyClient

        return ToxiproxyClient(self.api_url)

    def start(self) -> Self:
        if self._process is not None:
            return self
        port = self.port or _free_port(self.host)
        argv = [self.binary, "-host", self.host, "-port", str(port)]
        if self.seed is not None:
            argv += ["-seed", str(self.seed)]
        if self.log_path is not None:
            self._log_file = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self._process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file or subprocess.DEVNULL,
            stderr=subprocess.STDOUT if self._log_file else subprocess.DEVNULL,
            start_new_session=True,
        )
        self.address = f"{self.host}:{port}"
        deadline = time.monotonic() + self.start_timeout
        client = self.client()
        while True:
            try:
                client.version()
                return self
            except ChaosError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise StackError(
                        "proxy",
                        f"{self.binary} did not answer on {self.host}:{port}",
                        hint=f"set {ENV_SERVER}=builtin to use the project's own proxy",
                    ) from None
            threading.Event().wait(0.02)  # noqa: sleep-ok poll interval inside the deadline loop

    def stop(self) -> None:
        if self._process is not None:
            process, self._process = self._process, None
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(self.start_timeout)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(self.start_timeout)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        self.address = ""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_proxy_server(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    seed: int | None = None,
    mode: Mode = "thread",
    binary: str | None = None,
    allow_remote: bool = False,
    log_path: Path | str | None = None,
) -> ProxyServer | ExternalToxiproxyServer:
    """A started Toxiproxy-compatible server: the real one when present (see module doc), else
    the project's own in ``mode``. Stop it with ``.stop()`` or use it as a context manager."""
    check_api_host(host, allow_remote)
    path = find_toxiproxy_binary(binary)
    if path is not None:
        return ExternalToxiproxyServer(path, host, port, seed=seed, log_path=log_path).start()
    return ProxyServer(
        host, port, seed=seed, mode=mode, allow_remote=allow_remote, log_path=log_path
    ).start()
