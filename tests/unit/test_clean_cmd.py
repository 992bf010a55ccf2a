"""``chaos clean`` without a Docker engine still reaps local runs and says why docker was not."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.cli import main


def test_clean_says_docker_was_not_reaped_when_no_engine_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CHAOS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'no-engine.sock'}")

    status = main(["clean"])

    printed = capsys.readouterr().out
    assert status == 0
    assert "no registered runs" in printed
    assert "docker: nothing reaped (no Docker engine answers" in printed


def test_clean_names_a_run_it_does_not_know(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CHAOS_STATE_DIR", str(tmp_path / "state"))

    status = main(["clean", "--run", "no-such-run", "--dry-run"])

    assert status == 2
    assert "no such run: no-such-run" in capsys.readouterr().out
