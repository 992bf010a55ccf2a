"""Does this process really run on the run's dilated clock? Checked by the worker launcher.

A preload that fails is silent: ld.so prints one warning and the process runs in real time, and a
process that cannot open libfaketime's shared start record (``FAKETIME_SHARED``: a container that
does not see the host's /dev/shm) quietly measures from its own start instead. Either way the
worker's countdowns would disagree with the runner's and the producer's clock, and a run could
pass on the wrong clock. So a dilated worker compares its own ``time.time()`` with the run's
formula (``chaos.clock``), read from the shared record and the kernel's real clock (by syscall,
past libfaketime), and refuses to start when they disagree.
"""

from __future__ import annotations

import ctypes
import os
import platform
import time
from collections.abc import Mapping
from pathlib import Path

from chaos.clock import _SHARED_LAYOUT

#: clock_gettime's syscall number (libfaketime intercepts the libc function, not the syscall).
_SYS_CLOCK_GETTIME = {"x86_64": 228, "aarch64": 113}
#: How far (app seconds) this process's clock may be from the formula, beyond the two real
#: readings that bracket it: rounding of the start record's nanoseconds and float arithmetic.
TOLERANCE = 0.05


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def _kernel_realtime() -> float | None:
    number = _SYS_CLOCK_GETTIME.get(platform.machine())
    if number is None:
        return None
    spec = _Timespec()
    if ctypes.CDLL(None, use_errno=True).syscall(number, time.CLOCK_REALTIME, ctypes.byref(spec)):
        return None
    return spec.tv_sec + spec.tv_nsec / 1e9


def _rate(spec: str) -> float | None:
    try:
        return float(spec.split("x", 1)[1]) if "x" in spec else None
    except ValueError:
        return None


def preload_problem(env: Mapping[str, str] | None = None) -> str | None:
    """Why this process is not on the dilated clock its environment asks for (None: it is, or
    it runs in real time)."""
    env = os.environ if env is None else env
    rate = _rate(env.get("FAKETIME", ""))
    if rate is None or rate == 1.0:
        return None
    maps = Path("/proc/self/maps").read_text(errors="replace")
    if "faketime" not in maps:
        return f"libfaketime is not loaded (LD_PRELOAD={env.get('LD_PRELOAD', '')!r})"
    names = env.get("FAKETIME_SHARED", "").split()
    if len(names) != 2:
        return "FAKETIME_SHARED does not name the run's shared start record"
    record = Path("/dev/shm") / names[1].lstrip("/")
    try:
        raw = record.read_bytes()[: _SHARED_LAYOUT.size]
    except OSError as exc:
        return f"the run's shared start record {record} is not visible here: {exc.strerror}"
    if len(raw) < _SHARED_LAYOUT.size or not any(raw[16:]):
        # libfaketime creates the file (empty) where it does not find the runner's
        return f"the run's shared start record {record} is not visible here (it is empty)"
    fields = _SHARED_LAYOUT.unpack(raw)
    origin = fields[2] + fields[3] / 1e9
    before = _kernel_realtime()
    app = time.time()
    after = _kernel_realtime()
    if before is None or after is None:
        return None  # no way past libfaketime on this machine: the record's presence must do
    low = origin + (before - origin) * rate - TOLERANCE
    high = origin + (after - origin) * rate + TOLERANCE
    if not low <= app <= high:
        return (f"this process's clock reads {app:.3f}, the run's dilated clock "
                f"{low + TOLERANCE:.3f} to {high - TOLERANCE:.3f} "
                f"(x{rate:g} from {origin:.3f})")  # fmt: skip
    return None
