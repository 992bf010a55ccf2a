"""Every malformed scenario in the corpus is refused with exit 2, naming file:line and the field,
with no traceback and nothing started."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from chaos.cli import main

CORPUS = Path(__file__).parent / "malformed"
FILES = sorted(CORPUS.glob("*.yaml"))


def expectation(path: Path) -> tuple[int, str | None, str]:
    """The first line of each corpus file: ``# expect: LINE FIELD|- message fragment``."""
    header = path.read_text().splitlines()[0] if path.read_text() else ""
    _, _, rest = header.partition("# expect: ")
    line, field, fragment = rest.split(" ", 2)
    return int(line), None if field == "-" else field, fragment


def test_the_corpus_has_at_least_20_files() -> None:
    assert len(FILES) >= 20


@pytest.mark.parametrize("path", FILES, ids=[path.stem for path in FILES])
def test_malformed_scenario_is_refused_with_its_location(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line, field, fragment = expectation(path)
    children_before = {child.pid for child in psutil.Process().children(recursive=True)}

    exit_code = main(["validate", str(path)])

    err = capsys.readouterr().err
    assert exit_code == 2
    location = f"{path}:{line}" if line else f"{path}:"
    assert location in err
    if field is not None:
        assert f"{location}:" in err and f" {field}: " in err
    assert fragment in err
    assert "Traceback" not in err
    children_after = {child.pid for child in psutil.Process().children(recursive=True)}
    assert children_after <= children_before, "validation must not start anything"


def test_validate_reports_every_file_and_exits_2_without_traceback() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "chaos", "validate", str(CORPUS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    for path in FILES:
        assert path.name in completed.stderr


def test_list_shows_valid_scenarios_and_exits_2_on_a_directory_with_bad_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo = Path(__file__).resolve().parents[2]
    assert main(["list", str(repo / "tests" / "scenario" / "e2e")]) == 0
    assert "gate-can-fail.yaml" in capsys.readouterr().out
    assert main(["list", str(CORPUS)]) == 2
    assert main(["list", str(CORPUS / "missing-dir")]) == 2
