"""A test that lacks what it needs skips on a laptop and fails in the gate (CHAOS_GATE=1)."""

from __future__ import annotations

import pytest

from tests.needs import GATE_ENV, unavailable


def test_outside_the_gate_it_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(GATE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="needs root"):
        unavailable("needs root")


def test_in_the_gate_it_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(GATE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="needs root: the gate"):
        unavailable("needs root")
