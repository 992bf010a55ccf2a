"""Helpers of the trust tests: run ``chaos`` as a user does (a subprocess, timed) and fill a
file system to ENOSPC."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

WORKTREE = Path(__file__).resolve().parents[2]
SCENARIOS = WORKTREE / "scenarios"


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str
    seconds: float


def deliverable_sigint() -> None:
    """A ``preexec_fn`` for a child a test sends SIGINT to. A shell without job control starts
    background commands with SIGINT ignored, and Python keeps it ignored (as a CLI should), so a
    test session started that way would see its child ignore the signal under test."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_chaos(*argv: str, timeout: float = 120.0, env: dict[str, str] | None = None,
              python_argv: list[str] | None = None) -> Finished:  # fmt: skip
    """``python -m chaos ARGV`` from the worktree root (or ``python PYTHON_ARGV ARGV``)."""
    command = [sys.executable, *(python_argv or ["-m", "chaos"]), *argv]
    began = time.monotonic()
    completed = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=WORKTREE,
        env={**os.environ, "CHAOS_SKIP_DOCKER_SETUP": "1", **(env or {})},
    )
    return Finished(completed.returncode, completed.stdout, completed.stderr,
                    time.monotonic() - began)  # fmt: skip


Mount = Callable[..., Path]


def fill(directory: Path) -> None:
    """Write zeros into ``directory`` until its file system says ENOSPC."""
    block = b"\0" * 4096
    with open(directory / "filler", "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(block)
        except OSError:
            pass
    # The last partial block: byte by byte would be slow; 512 then 1 byte steps are enough.
    for size in (512, 1):
        with open(directory / "filler", "ab", buffering=0) as handle:
            try:
                while True:
                    handle.write(b"\0" * size)
            except OSError:
                pass
