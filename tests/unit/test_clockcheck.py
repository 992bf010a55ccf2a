"""The launcher's check that a dilated worker is really on the run's clock (chaos.clockcheck).

Real preloaded interpreters, no stack: the check passes on the run's clock and names each way a
process silently leaves it (no libfaketime, no start record, its own origin).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaos.clock import _SHARED_LAYOUT, AppClock

CHECK = r"""
import json, os, sys
from chaos.clockcheck import preload_problem
env = dict(os.environ, **json.loads(sys.argv[1]))
print(json.dumps(preload_problem(env)))
"""


@pytest.fixture
def dilated() -> Iterator[AppClock]:
    with AppClock(10.0) as clock:
        yield clock


def problem(process_env: dict[str, str], checked: dict[str, str] | None = None) -> str | None:
    """What preload_problem says in a process started with ``process_env``, checking
    ``checked`` (the same environment unless given)."""
    env = {**os.environ, **process_env}
    env.pop("LD_PRELOAD", None) if "LD_PRELOAD" not in process_env else None
    done = subprocess.run([sys.executable, "-c", CHECK, json.dumps(checked or {})], env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_process_on_the_runs_clock_passes(dilated: AppClock) -> None:
    assert problem(dilated.env()) is None


def test_real_time_is_not_checked() -> None:
    assert problem({}) is None


def test_a_process_without_libfaketime_is_named(dilated: AppClock) -> None:
    env = {k: v for k, v in dilated.env().items() if k != "LD_PRELOAD"}
    said = problem(env)
    assert said and "libfaketime is not loaded" in said


def test_a_process_that_cannot_see_the_start_record_is_named(dilated: AppClock) -> None:
    # What a container without the record bind-mounted sees: libfaketime falls back, silently,
    # to the process's own start.
    env = dilated.env()
    hidden = {"FAKETIME_SHARED": "/chaos_clock_gone_sem /chaos_clock_gone_shm"}
    try:
        said = problem({**env, **hidden})
    finally:  # libfaketime creates the record it does not find (empty)
        Path("/dev/shm/chaos_clock_gone_shm").unlink(missing_ok=True)
    assert said and "not visible" in said


def test_a_process_on_its_own_origin_is_named(dilated: AppClock, tmp_path: Path) -> None:
    # A start record 100 real s old: the run's clock is 900 app s ahead of a process that
    # counts from its own start (the record it was given is not the one it reads).
    env = dilated.env()
    name = f"chaos_clock_test_{os.getpid()}_shm"
    record = Path("/dev/shm") / name
    origin = time.time() - 100.0
    whole = int(origin)
    fields = [0, 0] + [whole, int((origin - whole) * 1e9)] * 4
    record.write_bytes(_SHARED_LAYOUT.pack(*fields))
    try:
        own = {k: v for k, v in env.items() if k != "FAKETIME_SHARED"}
        said = problem(own, checked={"FAKETIME_SHARED": f"/unused /{name}"})
    finally:
        record.unlink()
    assert said and "the run's dilated clock" in said
