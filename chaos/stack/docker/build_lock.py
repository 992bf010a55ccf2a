"""One build of an image tag at a time per engine, across processes.

``scripts/test`` builds the images in the background while the tests start, pytest-xdist workers
each ask for them, and two ``chaos images`` may run at once: without a lock each would build the
same tag (a debootstrap and a wheelhouse each, minutes of both cores). The second caller waits on
the first's lock, then finds the tag present. A lock file, not a Docker object: ``flock`` is
released by the kernel when its holder dies, so a killed build never blocks the next one.
"""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def build_lock(locks_dir: Path, engine: str, tag: str) -> Iterator[None]:
    """Hold the lock of building ``tag`` on ``engine`` (waits while another process holds it)."""
    locks_dir.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(f"{engine}\n{tag}".encode()).hexdigest()[:24]
    with (locks_dir / f"{key}.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
