"""``python -m chaos.clockrecord ARGV...``: start ARGV on the run's dilated clock in a container.

A worker container shares no /dev/shm with the runner (the engine may be another machine), so
the runner's start record (``chaos.clock``) cannot be seen there. The docker backend runs this
first instead, not preloaded: it writes the same record in the container's own /dev/shm from
``$CHAOS_CLOCK_RECORD`` (names, origin, the runner's boot id), then execs ARGV with libfaketime
preloaded (``$CHAOS_CLOCK_PRELOAD``, the libraries the image carries) and ``FAKETIME_SHARED``
naming the record. On another kernel (another boot id) the monotonic clocks have another zero:
their origins are moved by the real time elapsed since the run's origin, read here. The launcher
then checks the result as on the local backend (``chaos.clockcheck``).
"""

from __future__ import annotations

import json
import os
import sys
import time

from chaos.clock import _CLOCKS, boot_id, write_start_record

ENV_CLOCK_RECORD = "CHAOS_CLOCK_RECORD"
ENV_CLOCK_PRELOAD = "CHAOS_CLOCK_PRELOAD"


def local_origin(origin: list[float], runner_boot_id: str) -> list[float]:
    """``origin`` as this kernel's clocks read it: as given on the runner's kernel; elsewhere each
    clock's reading at the same real instant (its now minus the real seconds since the origin)."""
    if runner_boot_id and runner_boot_id == boot_id():
        return list(origin)
    now = [time.clock_gettime(clock) for clock in _CLOCKS]
    elapsed = now[0] - origin[0]
    return [origin[0], *(reading - elapsed for reading in now[1:])]


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m chaos.clockrecord ARGV...", file=sys.stderr)
        return 2
    record = json.loads(os.environ.pop(ENV_CLOCK_RECORD))
    sem_name, shm_name = record["names"]
    write_start_record(sem_name, shm_name, local_origin(record["origin"], record["boot_id"]))
    env = dict(os.environ, LD_PRELOAD=os.environ.pop(ENV_CLOCK_PRELOAD, ""),
               FAKETIME_SHARED=f"{sem_name} {shm_name}")  # fmt: skip
    os.execvpe(argv[0], argv, env)
    return 1  # not reached: exec replaces this process


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
