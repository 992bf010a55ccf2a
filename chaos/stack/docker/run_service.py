"""The run service: the runner's side of ``chaos.run_channel``, so that worker containers need no
shared file system with the runner (the engine may be on another machine).

It listens where the containers can dial this process (the stack network's gateway for an engine
on this machine, or ``CHAOS_DOCKER_RUNNER_ADDRESS``) and keeps the run's files in the run directory
exactly as the local backend's processes do: each journal line is one ``os.write`` on an
``O_APPEND`` descriptor of ``RUN_DIR/journal.jsonl`` (so the runner's own writer, the producer and
every container interleave whole lines), answered only once written; failpoint hits are counted in
the same files a local process counts them in. The runner therefore sees a container's events
during the run (a fault ``after:`` an event, a worker's ``worker.ready``), and a runner killed
mid-way leaves a journal complete up to its death, which ``chaos check`` reads as any other.
"""

from __future__ import annotations

import os
import socketserver
import threading
from pathlib import Path
from typing import Any

from chaos import failpoints, run_channel
from chaos.errors import StackError
from chaos.journal import JOURNAL_FILE, _leave_failure_mark
from chaos.stack.launch import STACK_UP_FILE

#: The address containers dial the runner at, for an engine whose gateway is not this machine.
ENV_RUNNER_ADDRESS = "CHAOS_DOCKER_RUNNER_ADDRESS"


def runner_address(gateway: str) -> str:
    """Where this process listens for the containers (the run service, the stubs' relays):
    ``CHAOS_DOCKER_RUNNER_ADDRESS`` if set, else the stack network's gateway."""
    return os.environ.get(ENV_RUNNER_ADDRESS) or gateway


class _Handler(socketserver.StreamRequestHandler):
    """One connection: one process in a container, its requests answered in order."""

    server: _Server

    def handle(self) -> None:
        for raw in self.rfile:  # bounded by the connection: the process closes it when it ends
            if not raw.endswith(b"\n"):
                return  # a process killed mid-request: half an event is no event
            verb, _, payload = raw.decode(errors="replace").rstrip("\n").partition(" ")
            answer = self.server.service.answer(verb, payload)
            self.wfile.write(answer.replace("\n", " ").encode() + b"\n")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    service: RunService


class RunService:
    """Serves one run directory's journal, failpoints and start-up mark over TCP."""

    def __init__(self, run_dir: Path, host: str) -> None:
        self.run_dir = Path(run_dir)
        self.journal_path = self.run_dir / JOURNAL_FILE
        self._fd = os.open(self.journal_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            self._server = _Server((host, 0), _Handler)
        except OSError as exc:
            os.close(self._fd)
            raise StackError("run service", f"cannot listen on {host} for the containers: {exc}",
                             hint=f"set {ENV_RUNNER_ADDRESS} to an address of this machine "
                                  "the engine's containers can reach") from exc  # fmt: skip
        self._server.service = self
        self.address = f"{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="run-service")  # fmt: skip
        self._thread.start()

    @classmethod
    def for_gateway(cls, run_dir: Path, gateway: str) -> RunService:
        """Listening on ``CHAOS_DOCKER_RUNNER_ADDRESS`` if set, else on the network's gateway."""
        return cls(run_dir, runner_address(gateway))

    def answer(self, verb: str, payload: str) -> str:
        try:
            if verb == run_channel.JOURNAL:
                return self._append(payload)
            if verb in (run_channel.PLANS, run_channel.HIT):
                return failpoints.served_answer(self.run_dir, verb, payload)
            if verb == run_channel.STACK_UP:
                return "1" if (self.run_dir / STACK_UP_FILE).exists() else "0"
        except Exception as exc:  # noqa: BLE001 - said to the asking process, which fails loudly
            return f"error: {type(exc).__name__}: {exc}"
        return f"error: unknown request {verb!r}"

    def _append(self, line: str) -> str:
        data = (line + "\n").encode()
        try:
            written = os.write(self._fd, data)
        except OSError as exc:
            reason = f"cannot append to {self.journal_path}: {exc.strerror or exc}"
        else:
            if written == len(data):
                return "ok"
            reason = f"only {written} of {len(data)} bytes of an event were written"
        _leave_failure_mark(self.journal_path, reason)  # what the runner looks for before judging
        return f"error: {reason}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> RunService:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
