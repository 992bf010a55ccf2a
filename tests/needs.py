"""What a test needs from the machine, said one way: skip on a laptop that lacks it, fail in the
gate. ``.ci/run`` (and the workflow's full job) set ``CHAOS_GATE=1``; there a skip would let the
gate pass without checking what the test exists to check (a second engine, a full disk)."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

GATE_ENV = "CHAOS_GATE"


def unavailable(reason: str) -> NoReturn:
    """Skip the test for ``reason``, or fail it when this run is the gate."""
    if os.environ.get(GATE_ENV) == "1":
        pytest.fail(f"{reason}: the gate ({GATE_ENV}=1) must run this test, not skip it")
    pytest.skip(reason)
