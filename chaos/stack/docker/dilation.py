"""The run's dilated clock in a worker container: libfaketime and the shim in the image, the
shared start record written inside the container. No file of this machine is mounted.

A worker container runs the app under the same ``LD_PRELOAD`` as a local worker (see
``chaos.clock``). The runtime image carries this machine's libfaketime and sem_clockwait shim at
``CLOCK_DIR_IN_IMAGE`` (``dilated_clock_files``; part of the image's digest). The images are
Debian bookworm like the machines the suite supports (Debian's ``libfaketime`` package, a glibc
at least as new as the host's), so those builds load there; the launcher checks that they did
(``chaos.clockcheck``) and the worker exits (code 4) if not, rather than run in real time.

The origin is shared through libfaketime's start record (``FAKETIME_SHARED``), which lives in
/dev/shm: the container's own, since the engine may be another machine. The container's command
is ``python -m chaos.clockrecord`` first, not preloaded: it writes the record from the run's
origin (``CHAOS_CLOCK_RECORD``), then execs the launcher preloaded. Redis and the proxy
containers keep real time; the runner scales what it gives them.
"""

from __future__ import annotations

import json
import time
from typing import Any

from chaos.clock import AppClock, ClockError, preload_libraries
from chaos.clockrecord import ENV_CLOCK_PRELOAD, ENV_CLOCK_RECORD

CLOCK_DIR_IN_IMAGE = "/opt/chaos-clock"
#: The image's names of the shim and libfaketime, in LD_PRELOAD order (preload_libraries').
IMAGE_LIBRARIES = ("clockshim.so", "libfaketime.so.1")
#: What the host's clock set for its own processes, which a container sets for itself.
_HOST_ONLY = ("LD_PRELOAD", "FAKETIME_SHARED")


def dilated_clock_files() -> dict[str, bytes]:
    """The files of the image's clock folder: the shim and libfaketime when this machine has them
    (a README only otherwise: a dilated worker then exits with code 4, saying why)."""
    files = {"README": b"libfaketime and the sem_clockwait shim for a dilated clock (chaos)\n"}
    try:
        libraries = preload_libraries()
    except ClockError:
        return files
    for name, library in zip(IMAGE_LIBRARIES, libraries, strict=True):
        files[name] = library.resolve().read_bytes()
    return files


def dilated_worker_env(clock: AppClock | None,
                       env: dict[str, str]) -> tuple[dict[str, str], list[str]]:  # fmt: skip
    """(``env`` for a worker container on ``clock``, the command prefix that starts it there);
    ``env`` unchanged and no prefix in real time."""
    if clock is None or not clock.dilated:
        return env, []
    container_env = {key: value for key, value in env.items() if key not in _HOST_ONLY}
    container_env.update({
        "FAKETIME": f"+0 x{clock.dilation:g}",
        ENV_CLOCK_RECORD: json.dumps(clock.start_record()),
        ENV_CLOCK_PRELOAD: " ".join(f"{CLOCK_DIR_IN_IMAGE}/{name}" for name in IMAGE_LIBRARIES),
    })  # fmt: skip
    return container_env, ["python", "-m", "chaos.clockrecord"]


def app_wall(clock: Any) -> float:
    """The app's wall clock now, what a worker journals (real time when not dilated)."""
    return clock.wall() if clock is not None and clock.dilated else time.time()
