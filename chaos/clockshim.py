"""A 30-line C shim preloaded before libfaketime: ``sem_clockwait`` on the dilated clock.

Python 3.11 waits on a lock with a timeout (``threading.Event.wait``, ``Condition.wait``,
``queue.Queue.get``, ``Thread.join``) through ``sem_clockwait(CLOCK_MONOTONIC, deadline)`` with a
deadline read from the faked monotonic clock (about 1.7e9 s under libfaketime), which libfaketime
0.9.10 and the 3.0.1 wheel do not intercept: the kernel waits for that deadline on its own clock,
so every timed wait hangs (measured by benchmarks/dilation_probe.py). libfaketime's own
``sem_timedwait`` multiplies by the rate where it should divide, so the shim does not go through
it: it reads how much app time is left on the app's clock, divides by N, and waits on the kernel's
clock (read by syscall, past libfaketime). Built once per source with the C compiler into the
user's cache directory.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

SOURCE = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double rate(void) {
    static double cached = 0.0;
    if (cached <= 0.0) {
        const char *spec = getenv("FAKETIME");
        const char *x = spec ? strchr(spec, 'x') : NULL;
        double parsed = x ? atof(x + 1) : 1.0;
        cached = parsed > 0.0 ? parsed : 1.0;
    }
    return cached;
}

int sem_clockwait(sem_t *sem, clockid_t clock, const struct timespec *abstime) {
    static int (*real_wait)(sem_t *, clockid_t, const struct timespec *);
    if (!real_wait) real_wait = dlsym(RTLD_NEXT, "sem_clockwait");
    struct timespec app_now, kernel_now, deadline;
    clock_gettime(clock, &app_now);                 /* the app's clock: libfaketime's */
    syscall(SYS_clock_gettime, clock, &kernel_now); /* the kernel's, past libfaketime */
    int64_t left = (int64_t)(abstime->tv_sec - app_now.tv_sec) * 1000000000LL
                   + (abstime->tv_nsec - app_now.tv_nsec);
    if (left < 0) left = 0;
    left = (int64_t)(left / rate());
    int64_t at = (int64_t)kernel_now.tv_sec * 1000000000LL + kernel_now.tv_nsec + left;
    deadline.tv_sec = (time_t)(at / 1000000000LL);
    deadline.tv_nsec = (long)(at % 1000000000LL);
    return real_wait(sem, clock, &deadline);
}
"""


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "celery-chaos"


def shim_path() -> Path:
    """The built shim (built now if this source has not been built yet); OSError if no compiler."""
    digest = hashlib.sha256(SOURCE.encode()).hexdigest()[:12]
    target = cache_dir() / f"chaos-clockshim-{digest}.so"
    if target.is_file():
        return target
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not compiler:
        raise OSError("no C compiler (cc) to build the clock shim; install gcc")
    target.parent.mkdir(parents=True, exist_ok=True)
    source = target.with_suffix(f".{os.getpid()}.c")
    staging = target.with_suffix(f".{os.getpid()}.tmp")
    source.write_text(SOURCE)
    try:
        built = subprocess.run(
            [compiler, "-shared", "-fPIC", "-O2", "-o", str(staging), str(source), "-ldl"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        if built.returncode != 0:
            raise OSError(f"building the clock shim failed: {built.stderr.strip()[:500]}")
        staging.replace(target)  # atomic: two runs building at once both end with one file
    finally:
        source.unlink(missing_ok=True)
        staging.unlink(missing_ok=True)
    return target
