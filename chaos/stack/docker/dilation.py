"""The run's dilated clock in a worker container: the host's libfaketime and shim, bind-mounted.

A worker container runs the app under the same ``LD_PRELOAD`` as a local worker (see
``chaos.clock``): the two libraries are bind-mounted read-only at their host paths, so the
environment ``AppClock.env()`` gives names them in the container too. The images are Debian
bookworm like the machines the suite supports (Debian's ``libfaketime`` package, a glibc at least
as new as the host's), so the host's build loads there; the launcher checks that it did
(``chaos.clockcheck``) and the worker exits (code 4) if not, rather than run in real time.

The origin is shared through libfaketime's start record (``FAKETIME_SHARED``): a POSIX semaphore
and a shared-memory file in the host's /dev/shm. Only those two files are bind-mounted into the
container's own /dev/shm (not the host's whole /dev/shm, not ``ipc: host``): the container sees
the run's record and nothing else of the host's IPC. Redis and the proxy containers keep real
time; the runner scales what it gives them.
"""

from __future__ import annotations

import time
from typing import Any

from chaos.clock import AppClock, preload_libraries


Volumes = dict[str, dict[str, str]]


def dilated_worker_mounts(clock: AppClock | None) -> tuple[Volumes, dict[str, str]]:
    """(volumes, environment) a worker container needs to run on ``clock`` (empty in real time).

    ``clock`` must be open (its start record written): ClockError if libfaketime is missing."""
    if clock is None or not clock.dilated:
        return {}, {}
    env = clock.env()  # opens the record if needed; no inherited LD_PRELOAD: the host's is not here
    volumes: Volumes = {}
    for library in preload_libraries():
        volumes[str(library.resolve())] = {"bind": str(library), "mode": "ro"}
    for shared in clock.shared_files():
        volumes[str(shared)] = {"bind": str(shared), "mode": "rw"}  # libfaketime opens them O_RDWR
    return volumes, env


def app_wall(clock: Any) -> float:
    """The app's wall clock now, what a worker journals (real time when not dilated)."""
    return clock.wall() if clock is not None and clock.dilated else time.time()
