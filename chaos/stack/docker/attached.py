"""A container driven like a subprocess: its stdin and stdout are the runner's to talk through.

The producer of an app with a database runs on the engine (its database lives there), yet the
runner talks to it as to a local workload process, a line at a time on stdin and stdout. Docker's
attach stream carries both; this wraps it in the part of ``subprocess.Popen``'s interface the
runner uses (``stdin``, ``stdout``, ``poll``, ``returncode``, ``terminate``, ``kill``, ``wait``),
and writes what the process says on stderr to a log file of the run directory as it comes.
Closing ``stdin`` half-closes the stream, which the engine passes on as EOF (``StdinOnce``).
"""

from __future__ import annotations

import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from docker.errors import APIError, NotFound
from docker.utils.socket import STDERR, STDOUT, frames_iter


class _Stdin:
    """The write side of the attach stream, as a text file with ``write``, ``flush``, ``close``."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self.closed = False

    def write(self, text: str) -> int:
        try:
            self._sock.sendall(text.encode())
        except OSError as exc:
            raise BrokenPipeError(str(exc)) from exc
        return len(text)

    def flush(self) -> None:
        """Nothing buffered: ``write`` sends."""

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            try:
                self._sock.shutdown(socket.SHUT_WR)
            except OSError as exc:
                raise BrokenPipeError(str(exc)) from exc


class AttachedContainer:
    """A created, not yet started container, started attached; then read like a ``Popen``."""

    def __init__(self, container: Any, log_path: Path) -> None:
        self.container = container
        self.returncode: int | None = None
        self._log_path = log_path
        self._stream = container.client.api.attach_socket(
            container.id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
        )
        self.stdin = _Stdin(self._stream._sock)
        self._ended = threading.Event()
        container.start()  # after attaching: nothing it says is lost
        self.stdout: Iterator[str] = self._lines()

    def _lines(self) -> Iterator[str]:
        """Its stdout, a line at a time; stderr goes to the log as it comes; when the stream
        ends (the process exited), its exit code becomes ``returncode``."""
        pending = b""
        with self._log_path.open("a") as log:
            try:
                for stream, data in frames_iter(self._stream, tty=False):
                    if stream == STDERR:
                        _write(log, data)
                    elif stream == STDOUT:
                        pending += data
                        *lines, pending = pending.split(b"\n")
                        yield from (line.decode(errors="replace") + "\n" for line in lines)
            except OSError:
                pass  # the connection went: the container's state says how it ended
            finally:
                self._finish()

    def _finish(self) -> None:
        try:
            self.returncode = int(self.container.wait().get("StatusCode", -1))
        except (APIError, NotFound):
            self.returncode = -9  # removed under us (the stack closed): as if killed
        self._ended.set()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._ended.wait(timeout):
            raise subprocess.TimeoutExpired("producer container", timeout or 0.0)
        assert self.returncode is not None
        return self.returncode

    def terminate(self) -> None:
        self._signal("SIGTERM")

    def kill(self) -> None:
        self._signal("SIGKILL")

    def _signal(self, name: str) -> None:
        try:
            self.container.kill(signal=name)
        except (APIError, NotFound):
            pass  # already exited or gone: nothing left to signal


def _write(log: TextIO, data: bytes) -> None:
    log.write(data.decode(errors="replace"))
    log.flush()
