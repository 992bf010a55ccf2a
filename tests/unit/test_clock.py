"""The dilated clock: one origin across app processes, scaled waits, the runner's conversions.

Real preloaded interpreters (libfaketime plus chaos's shim), no stack. Each reading is a round
trip on a pipe; times are compared at "the same real instant" by bracketing one process's
reading between two of the other's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from chaos.clock import AppClock
from chaos.faults.proxy import real_time_attributes

DILATION = 10.0

NOW = r"""
import sys, time
for line in sys.stdin:
    print(time.time(), time.monotonic(), flush=True)
"""


class Reader:
    """A preloaded interpreter that prints its time.time() and time.monotonic() when asked."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", NOW], env=env, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)  # fmt: skip

    def now(self) -> tuple[float, float]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("now\n")
        self.process.stdin.flush()
        wall, mono = map(float, self.process.stdout.readline().split())
        return wall, mono

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)


@pytest.fixture
def dilated() -> Iterator[AppClock]:
    with AppClock(DILATION) as clock:
        yield clock


def app_env(clock: AppClock) -> dict[str, str]:
    return {**os.environ, **clock.env(os.environ.get("LD_PRELOAD"))}


def test_processes_started_a_second_apart_share_one_app_clock(dilated: AppClock) -> None:
    first = Reader(app_env(dilated))
    first.now()  # started and answering
    started_second = time.monotonic()
    while time.monotonic() - started_second < 1.0:  # 1 real s apart: 9 app s of drift if unshared
        first.now()
    second = Reader(app_env(dilated))
    try:
        before, middle, after = first.now(), second.now(), first.now()
        runner = dilated.wall(), dilated.mono()
        again = second.now()
    finally:
        first.close()
        second.close()
    # Tolerance 0.3 app s = 30 ms real at x10: the pipe round trips between the readings on a
    # shared 2-core machine; without the shared origin the gap is (10 - 1) x 1 s = 9 app s.
    for clock in (0, 1):  # wall, then monotonic
        assert before[clock] - 0.3 <= middle[clock] <= after[clock] + 0.3
        assert abs(runner[clock] - again[clock]) <= 0.3
    # The app's monotonic clock reads like its wall clock (libfaketime starts both at the origin).
    assert abs(middle[0] - middle[1]) <= 0.3


WAITS = r"""
import queue, select, threading, time
print("begin", flush=True)
time.sleep(1)  # noqa: sleep-ok - the wait under measurement (dilated: 0.1 real s), not a sync
threading.Event().wait(1)
select.select([], [], [], 1)
try:
    queue.Queue().get(timeout=1)
except queue.Empty:
    pass
print("end", flush=True)
"""


def test_sleeps_and_timed_waits_take_one_nth_of_their_app_time(dilated: AppClock) -> None:
    process = subprocess.Popen([sys.executable, "-c", WAITS], env=app_env(dilated), text=True,
                               stdout=subprocess.PIPE)  # fmt: skip
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "begin"
    began = time.monotonic()
    # Four waits of 1 app s: 0.4 real s at x10. A wait libfaketime does not scale takes 1 s, and
    # a timed lock wait without the shim never returns: the bound below catches both; the lower
    # bound catches a wait that did not wait at all.
    line = process.stdout.readline().strip()
    real = time.monotonic() - began
    process.wait(timeout=10)
    assert line == "end"
    assert 0.3 <= real <= 0.9


def test_the_runner_reads_app_time_n_times_faster(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = AppClock(DILATION)
    real = clock.origin_mono + 6.0  # 6 real seconds after the origin
    monkeypatch.setattr(time, "monotonic", lambda: real)
    # A fault "at: 60s" after a start at the origin is due 6 real seconds later.
    assert clock.mono() - clock.origin_real == pytest.approx(60.0)
    assert clock.real_seconds(60.0) == pytest.approx(6.0)
    assert clock.app_seconds(6.0) == pytest.approx(60.0)


def test_real_time_is_the_identity() -> None:
    clock = AppClock()
    assert not clock.dilated
    assert clock.env() == {}
    assert abs(clock.mono() - time.monotonic()) < 0.01
    assert abs(clock.wall() - time.time()) < 0.01


def test_proxy_toxic_times_are_divided_by_the_dilation() -> None:
    attributes = {"latency": 500, "jitter": 50, "rate": 100, "error": "OOM"}
    assert real_time_attributes(attributes, 10.0) == {
        "latency": 50, "jitter": 5, "rate": 1000, "error": "OOM",
    }  # fmt: skip
    assert real_time_attributes(attributes, 1.0) == attributes


def test_the_shared_origin_is_removed_on_close() -> None:
    clock = AppClock(DILATION).open()
    names = clock.env()["FAKETIME_SHARED"].split()
    assert all(os.path.exists(path) for path in (f"/dev/shm/sem.{names[0][1:]}",
                                                 f"/dev/shm{names[1]}"))  # fmt: skip
    clock.close()
    assert not any(os.path.exists(path) for path in (f"/dev/shm/sem.{names[0][1:]}",
                                                     f"/dev/shm{names[1]}"))  # fmt: skip


@pytest.mark.parametrize("dilation", [0.5, 0.0, 21.0])
def test_a_dilation_out_of_range_is_refused(dilation: float) -> None:
    with pytest.raises(ValueError, match="between 1 and 20"):
        AppClock(dilation)


def test_a_dead_runners_origin_is_reaped_and_a_live_ones_kept() -> None:
    from chaos.clock import reap_stale_origins

    dead = "/dev/shm/chaos_clock_4194304999_test_shm"  # above any pid_max: never a live process
    live = f"/dev/shm/chaos_clock_{os.getpid()}_test_shm"
    for path in (dead, live):
        with open(path, "w"):
            pass
    try:
        removed = reap_stale_origins()
        assert "chaos_clock_4194304999_test_shm" in removed
        assert not os.path.exists(dead) and os.path.exists(live)
    finally:
        for path in (dead, live):
            if os.path.exists(path):
                os.unlink(path)
