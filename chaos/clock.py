"""The app's clock: real time, or real time dilated ×N for every process of the app.

A dilated run preloads libfaketime (``LD_PRELOAD``, ``FAKETIME="+0 xN"``) into each app process
(workers and their pool children, the workload/producer and its outbox relay): their wall and
monotonic clocks, sleeps and poll/select/epoll timeouts run N times faster than real time, so a
60 s countdown elapses in 60/N real seconds. The processes start at different real instants, and
libfaketime measures "elapsed" from each process's own start unless they share its start record:
the runner writes that record itself (``FAKETIME_SHARED`` names a POSIX semaphore and shared
memory holding libfaketime's ``struct ft_shared_s``), with the run's origin in it, before any app
process starts. Every app process then reads, at real instant r,

    app_wall(r) = O_real + (r - O_real) * N        app_mono(m) = O_real + (m - O_mono) * N

and the runner (not preloaded) computes the same numbers with :meth:`AppClock.wall` and
:meth:`AppClock.mono`, so its journal events and its fault timeline are in the app's time too.
Redis and the in-process fault proxy keep real time (see README, "Dilated clock").
"""

from __future__ import annotations

import ctypes
import ctypes.util
import mmap
import os
import secrets
import struct
import time
from pathlib import Path
from typing import Any

#: The highest dilation a scenario may ask for: beyond it a worker's own CPU time (imports,
#: serialisation, a Redis round trip) is a large share of the app's seconds.
MAX_DILATION = 20.0
#: Debian's ``libfaketime`` package (0.9.10): built with FAKE_SLEEP, so sleeps and
#: poll/select/epoll timeouts are scaled too.
_SYSTEM_LIBRARIES = (
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
)
ENV_LIBRARY = "CHAOS_LIBFAKETIME"
_CLOCKS = (time.CLOCK_REALTIME, time.CLOCK_MONOTONIC, time.CLOCK_MONOTONIC_RAW, time.CLOCK_BOOTTIME)
#: ``struct ft_shared_s``: uint64 ticks, uint64 file_idx, then start_time as four timespecs
#: (real, mon, mon_raw, boot) on Linux x86_64/aarch64 (faketime_common.h).
_SHARED_LAYOUT = struct.Struct("=QQ" + "qq" * len(_CLOCKS))


_TAG = "chaos_clock_"
_SHM = Path("/dev/shm")


def reap_stale_origins() -> list[str]:
    """Remove the start records of runs whose runner is gone (killed before it could clean up):
    each name carries its runner's pid. Returns the names removed."""
    removed = []
    try:
        names = [p.name for p in _SHM.iterdir() if _TAG in p.name]
    except OSError:
        return removed
    for name in names:
        pid_text = name.split(_TAG, 1)[1].split("_", 1)[0]
        if not pid_text.isdigit() or Path(f"/proc/{pid_text}").exists():
            continue
        (_SHM / name).unlink(missing_ok=True)
        removed.append(name)
    return removed


class ClockError(RuntimeError):
    """The dilated clock cannot be set up on this machine (no libfaketime, no POSIX semaphores)."""


def libfaketime_path() -> Path:
    """The libfaketime shared library to preload: $CHAOS_LIBFAKETIME, else Debian's.

    Not the ``libfaketime`` wheel's prebuilt library: it is built without FAKE_SLEEP (it exports
    no nanosleep, poll, select or epoll_wait), so a dilated process would sleep and poll in real
    time while its clock runs N times faster, and ``time.sleep`` hangs (measured by
    benchmarks/dilation_probe.py).
    """
    override = os.environ.get(ENV_LIBRARY)
    if override:
        return Path(override)
    for system in _SYSTEM_LIBRARIES:
        if Path(system).is_file():
            return Path(system)
    raise ClockError(
        "a dilated clock needs libfaketime built with FAKE_SLEEP: apt-get install libfaketime "
        "(Debian/Ubuntu), or set CHAOS_LIBFAKETIME to such a libfaketime.so.1"
    )


def preload_libraries() -> list[Path]:
    """The shim (sem_clockwait) then libfaketime, in LD_PRELOAD order; ClockError if missing."""
    from chaos.clockshim import shim_path

    library = libfaketime_path()
    try:
        shim = shim_path()
    except OSError as exc:
        raise ClockError(f"a dilated clock needs its sem_clockwait shim: {exc}") from exc
    return [shim, library]


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.sem_open.restype = ctypes.c_void_p
    libc.sem_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, ctypes.c_uint]
    libc.sem_close.argtypes = [ctypes.c_void_p]
    libc.sem_unlink.argtypes = [ctypes.c_char_p]
    return libc


def boot_id() -> str:
    """This kernel's boot id: processes that share it share the monotonic clocks."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def write_start_record(sem_name: str, shm_name: str, origin: list[float]) -> None:
    """libfaketime's shared start record (a POSIX semaphore and shared memory) with ``origin``
    (one reading of each clock of ``_CLOCKS``); ClockError if the semaphore cannot be made."""
    libc = _libc()
    sem = libc.sem_open(sem_name.encode(), os.O_CREAT | os.O_EXCL, 0o600, 1)
    if not sem or sem == ctypes.c_void_p(-1).value:  # SEM_FAILED
        raise ClockError(f"sem_open {sem_name} failed: {os.strerror(ctypes.get_errno())}")
    libc.sem_close(sem)
    fields: list[int] = [0, 0]
    for seconds in origin:
        whole = int(seconds // 1)
        fields += [whole, int(round((seconds - whole) * 1e9)) % 1_000_000_000]
    fd = os.open(f"/dev/shm{shm_name}", os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    try:
        os.ftruncate(fd, mmap.PAGESIZE)
        os.pwrite(fd, _SHARED_LAYOUT.pack(*fields), 0)
    finally:
        os.close(fd)


class AppClock:
    """Real time (``dilation`` 1) or the run's dilated time, read the way the app reads it."""

    def __init__(self, dilation: float = 1.0) -> None:
        if not 1.0 <= dilation <= MAX_DILATION:
            raise ValueError(f"dilation must be between 1 and {MAX_DILATION:g}, not {dilation}")
        self.dilation = float(dilation)
        origin = [time.clock_gettime(clock) for clock in _CLOCKS]
        self.origin_real, self.origin_mono = origin[0], origin[1]
        self._origin = origin
        self._names: tuple[str, str] | None = None
        self.capped: str | None = None
        """Why a scenario's dilation was capped to this clock's (None: it was not)."""

    @property
    def dilated(self) -> bool:
        return self.dilation != 1.0

    def wall(self) -> float:
        """The app's wall clock now (``time.time()`` in an app process)."""
        return self.origin_real + (time.time() - self.origin_real) * self.dilation

    def mono(self) -> float:
        """The app's monotonic clock now (``time.monotonic()`` in an app process)."""
        if not self.dilated:
            return time.monotonic()
        return self.origin_real + (time.monotonic() - self.origin_mono) * self.dilation

    def real_seconds(self, app_seconds: float) -> float:
        """How many real seconds ``app_seconds`` of the app's time take."""
        return app_seconds / self.dilation

    def app_seconds(self, real_seconds: float) -> float:
        return real_seconds * self.dilation

    # --- the shared origin ------------------------------------------------------------------

    def open(self) -> AppClock:
        """Create the shared start record every preloaded process reads (no-op in real time)."""
        if not self.dilated or self._names is not None:
            return self
        reap_stale_origins()
        tag = f"{_TAG}{os.getpid()}_{secrets.token_hex(4)}"
        sem_name, shm_name = f"/{tag}_sem", f"/{tag}_shm"
        write_start_record(sem_name, shm_name, self._origin)
        self._names = (sem_name, shm_name)
        return self

    def start_record(self) -> dict[str, Any]:
        """What another machine's (or container's) process needs to write the same start record
        in its own /dev/shm (``chaos.clockrecord``): names, origin, and this kernel's boot id."""
        self.open()
        assert self._names is not None
        return {"names": list(self._names), "origin": list(self._origin), "boot_id": boot_id()}

    def close(self) -> None:
        """Remove the shared start record (processes that still map it keep their copy)."""
        if self._names is None:
            return
        sem_name, shm_name = self._names
        self._names = None
        _libc().sem_unlink(sem_name.encode())
        Path(f"/dev/shm{shm_name}").unlink(missing_ok=True)

    def shared_files(self) -> list[Path]:
        """The files of the shared start record (glibc keeps a POSIX semaphore named ``/x`` in
        ``/dev/shm/sem.x``): what a process in another mount namespace (a container) must see."""
        if self._names is None:
            return []
        sem_name, shm_name = self._names
        return [_SHM / f"sem.{sem_name[1:]}", _SHM / shm_name[1:]]

    def __enter__(self) -> AppClock:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def env(self, inherited: str | None = None) -> dict[str, str]:
        """What an app process's environment needs to run on this clock ({} in real time).

        ``inherited`` is the LD_PRELOAD the process would otherwise get (kept after ours)."""
        if not self.dilated:
            return {}
        self.open()
        assert self._names is not None
        preload = " ".join([*map(str, preload_libraries()), *filter(None, [inherited])])
        return {
            "LD_PRELOAD": preload,
            "FAKETIME": f"+0 x{self.dilation:g}",
            "FAKETIME_SHARED": " ".join(self._names),
        }

    def describe(self) -> dict[str, Any]:
        """What the journal's run.started records about the clock."""
        described: dict[str, Any] = {"dilation": self.dilation, "real_start": self.origin_real}
        if self.capped:
            described["capped"] = self.capped
        return described
