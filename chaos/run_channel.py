"""The run's files over a socket: how a process on another machine's file system takes part.

A worker container on a Docker engine shares no file system with the runner (the engine may be
remote). When the stack sets ``CHAOS_RUN_SERVICE`` (``host:port`` of the runner's run service,
``chaos.stack.docker.run_service``), a process appends its journal events, counts its failpoint
hits, reads the armed plans and asks whether the stack is up through it, instead of through files
in ``CHAOS_RUN_DIR``. One request is one line, one answer is one line: an event is in the runner's
journal before ``write`` returns, as with the local ``O_APPEND`` write, so a worker killed right
after an event has journaled it.

Each process has its own connection (a forked pool child opens its own), so one process's request
and answer never interleave with another's.
"""

from __future__ import annotations

import os
import socket
import threading
from typing import BinaryIO

ENV_RUN_SERVICE = "CHAOS_RUN_SERVICE"
#: A service that does not answer within this many seconds is gone (the runner died): a write
#: fails loudly, like a journal on a full disk, rather than hang the worker.
ANSWER_TIMEOUT = 60.0

#: Request verbs (the first word of a line).
JOURNAL = "J"
PLANS = "P"
HIT = "H"
STACK_UP = "U"


class RunChannel:
    """This process's connection to the run service; safe across threads and forks."""

    def __init__(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        self.address = (host.strip("[]"), int(port))
        self._lock = threading.Lock()
        self._pid = -1
        self._socket: socket.socket | None = None
        self._reader: BinaryIO | None = None

    def ask(self, verb: str, payload: str = "") -> str:
        """Send one request line, return the answer line (without its newline); OSError if the
        service is unreachable or the connection broke."""
        if "\n" in payload:
            raise ValueError("a request is one line")
        with self._lock:
            if self._pid != os.getpid():  # a forked child: the parent's connection is not ours
                self._socket, self._pid = None, os.getpid()
            if self._socket is None or self._reader is None:
                self._socket = socket.create_connection(self.address, timeout=ANSWER_TIMEOUT)
                self._reader = self._socket.makefile("rb")
            try:
                self._socket.sendall(f"{verb} {payload}\n".encode())
                answer = self._reader.readline()
            except OSError:
                self._socket = None
                raise
            if not answer.endswith(b"\n"):
                self._socket = None
                raise ConnectionError(f"the run service at {self.address} closed the connection")
            return answer[:-1].decode()


_channel: RunChannel | None = None


def _renew_in_child() -> None:
    """A fork while another thread held the channel's lock would leave the child's copy held."""
    if _channel is not None:
        _channel._lock = threading.Lock()


os.register_at_fork(after_in_child=_renew_in_child)


def channel() -> RunChannel | None:
    """The process's channel when its stack says to use one (``CHAOS_RUN_SERVICE``), else None."""
    global _channel
    address = os.environ.get(ENV_RUN_SERVICE)
    if not address:
        return None
    if _channel is None or _channel.address != RunChannel(address).address:
        _channel = RunChannel(address)
    return _channel
