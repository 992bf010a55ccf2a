"""chaos.clockrecord: a container's start record names the run's origin on the container's own
kernel clocks (the engine may be another machine, with another boot and monotonic zero)."""

from __future__ import annotations

import time

from chaos.clock import _CLOCKS, boot_id
from chaos.clockrecord import local_origin


def test_on_the_runners_kernel_the_origin_is_taken_as_given():
    given = [1.0, 2.0, 3.0, 4.0]
    assert local_origin(given, boot_id()) == given


def test_on_another_kernel_each_monotonic_origin_is_its_reading_at_the_runs_real_origin():
    real_origin = time.clock_gettime(time.CLOCK_REALTIME) - 30.0  # the run began 30 s ago
    # The runner's monotonic readings mean nothing here: another kernel, another zero.
    moved = local_origin([real_origin, 1e6, 1e6, 1e6], "another-boot")
    now = [time.clock_gettime(clock) for clock in _CLOCKS]
    assert moved[0] == real_origin
    for reading, origin in zip(now[1:], moved[1:], strict=True):
        # 30 s before now on each clock; 0.5 s allows for a loaded machine between the readings.
        assert abs((reading - origin) - 30.0) < 0.5
