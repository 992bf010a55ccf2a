"""Fixtures for the trust tests: small tmpfs mounts (a full disk, a read-only one) and what
starting ``chaos`` costs here."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.needs import unavailable
from tests.trust.support import Mount, run_chaos


@pytest.fixture(scope="session")
def chaos_startup_seconds() -> float:
    """What ``chaos --version`` costs here: the interpreter and import time every case pays."""
    return min(run_chaos("--version").seconds for _ in range(2))


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Mount]:
    """``tmpfs(size="64k", read_only=False)``: a fresh tmpfs mounted under tmp_path (root only;
    skips where mounting is not allowed, fails in the gate), unmounted afterwards."""
    mounted: list[Path] = []

    def mount(size: str = "64k", read_only: bool = False) -> Path:
        if os.geteuid() != 0:
            unavailable("mounting a tmpfs needs root")
        point = tmp_path / f"tmpfs-{len(mounted)}"
        point.mkdir()
        options = f"size={size}" + (",ro" if read_only else "")
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)],
                              capture_output=True, text=True, check=False)  # fmt: skip
        if done.returncode != 0:
            unavailable(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in reversed(mounted):
        subprocess.run(["umount", "-l", str(point)], check=False)
