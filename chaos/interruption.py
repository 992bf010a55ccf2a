"""SIGTERM taken as SIGINT's KeyboardInterrupt, for ``chaos`` and for pytest sessions alike.

CI runners cancelling a job and ``timeout`` send SIGTERM, whose default action ends the process
with no clean-up: workers, Redis and containers stay behind. Raised as a KeyboardInterrupt, it
unwinds through the same ``finally`` blocks and fixture teardowns as Ctrl-C does, and the process
ends with the shell's status for the signal (128 + 15 = 143).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

#: What a shell reports for a process that SIGTERM ended; ours after a clean stop.
EXIT_TERMINATED = 128 + signal.SIGTERM
#: Names, in a child's environment, the descriptor of a pipe whose only writer is its parent.
PARENT_PIPE_VARIABLE = "CHAOS_PARENT_PIPE"

_Handler = Callable[[int, FrameType | None], Any] | int | None


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where SIGINT's KeyboardInterrupt would be, so that it unwinds through the
    same clean-ups: the stack, workers and proxy stop."""

    signum = signal.SIGTERM

    def __str__(self) -> str:
        return "interrupted by SIGTERM: stopped cleanly, every stack closed"


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    # One clean stop: a second SIGTERM during the clean-up must not cut it short (SIGKILL still
    # ends everything at once).
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated()


def raise_on_sigterm() -> _Handler | None:
    """From now on SIGTERM raises ``Terminated`` in the main thread; return the handler it
    replaced (for ``restore``), or None when called off the main thread (nothing changed:
    Python only runs signal handlers there)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    previous: _Handler = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, _on_sigterm)
    return previous


def restore(previous: _Handler | None) -> None:
    """Put back the SIGTERM handler ``raise_on_sigterm`` replaced."""
    if previous is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, previous)


def exit_status(interrupt: KeyboardInterrupt) -> int:
    """128 + the signal behind ``interrupt``: 130 for Ctrl-C, 143 for SIGTERM."""
    return 128 + int(getattr(interrupt, "signum", signal.SIGINT))


def terminate_when_pipe_closes() -> bool:
    """If our parent handed us a pipe (``PARENT_PIPE_VARIABLE``), SIGTERM ourselves when it
    closes: the kernel closes the parent's write end however the parent ends, ``kill -9``
    included, so a child of ``chaos run --jobs`` stops its stack cleanly instead of running on
    unowned. Returns whether a pipe was watched. Portable, unlike Linux's PR_SET_PDEATHSIG."""
    value = os.environ.pop(PARENT_PIPE_VARIABLE, None)  # not for our own children
    if value is None or not value.isdigit():
        return False
    fd = int(value)

    def wait_for_end() -> None:
        try:
            while os.read(fd, 64):  # the parent never writes; anything read is ignored
                pass
        except OSError:
            pass
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=wait_for_end, name="chaos-parent-pipe", daemon=True).start()
    return True


def terminate_with_parent() -> bool:
    """Ask the kernel for SIGTERM when this process's parent dies (Linux's parent-death signal);
    True when set. For an xdist worker: ``kill -9`` of the pytest session's main process leaves
    its workers running with their stacks (measured: every process and port of both stacks
    still there 2 s later); with this they stop as SIGTERM stops them, fixtures torn down."""
    import ctypes
    import sys

    if sys.platform != "linux":
        return False
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        if libc.prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if os.getppid() != parent:  # the parent died before the request: nobody will send it
        os.kill(os.getpid(), signal.SIGTERM)
    return True
