"""Fixtures for the trust tests: small tmpfs mounts (a full disk, a read-only one) and a way to run
``chaos`` as a user does, in a subprocess, timed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

WORKTREE = Path(__file__).resolve().parents[2]
SCENARIOS = WORKTREE / "scenarios"


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str
    seconds: float


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


@pytest.fixture(scope="session")
def chaos_startup_seconds() -> float:
    """What ``chaos --version`` costs here: the interpreter and import time every case pays."""
    return min(run_chaos("--version").seconds for _ in range(2))


Mount = Callable[..., Path]


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Mount]:
    """``tmpfs(size="64k", read_only=False)``: a fresh tmpfs mounted under tmp_path (root only;
    skips where mounting is not allowed), unmounted afterwards."""
    mounted: list[Path] = []

    def mount(size: str = "64k", read_only: bool = False) -> Path:
        if os.geteuid() != 0:
            pytest.skip("mounting a tmpfs needs root")
        point = tmp_path / f"tmpfs-{len(mounted)}"
        point.mkdir()
        options = f"size={size}" + (",ro" if read_only else "")
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)],
                              capture_output=True, text=True, check=False)  # fmt: skip
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in reversed(mounted):
        subprocess.run(["umount", "-l", str(point)], check=False)


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
