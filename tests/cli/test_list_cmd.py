"""``chaos list``: each scenario's description and an estimated time computed from its timeline."""

from __future__ import annotations

import subprocess
from pathlib import Path

from chaos.cli.list_cmd import estimated_seconds, format_estimate
from chaos.scenario import load_scenario
from tests.cli.conftest import CHAOS

SCENARIO = """\
name: slow-link
description: >
  A slow link while orders flow, a sentence long enough to wrap in a narrow column of the table.
workload:
  - {path: naive, count: 5, rate: 1/s}
faults:
  - {id: slow, type: proxy.toxic, toxic: latency, attributes: {latency: 100}, at: 2s, for: 5s}
expect:
  - check: no_lost
drain: 10s
"""

WORKLOAD_LONGER = """\
name: long-workload
description: Orders for twenty seconds and a short fault.
workload:
  - {path: naive, count: 21, rate: 1/s}
faults:
  - {type: proxy.down, at: 1s, for: 2s}
expect:
  - check: no_lost
drain: 5s
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_estimate_is_the_last_fault_end_plus_the_drain(tmp_path: Path) -> None:
    scenario = load_scenario(_write(tmp_path, "a.yaml", SCENARIO)).scenario
    assert estimated_seconds(scenario) == 2 + 5 + 10  # the fault ends after the last send (4 s)


def test_estimate_is_the_last_send_plus_the_drain_when_the_workload_is_longer(
    tmp_path: Path,
) -> None:
    scenario = load_scenario(_write(tmp_path, "b.yaml", WORKLOAD_LONGER)).scenario
    assert estimated_seconds(scenario) == 20 + 5


def test_estimates_read_as_seconds_then_minutes() -> None:
    assert format_estimate(16.6) == "~17 s"
    assert format_estimate(210) == "~3 min 30 s"
    assert format_estimate(240) == "~4 min"


def test_list_shows_description_and_estimated_time(tmp_path: Path) -> None:
    _write(tmp_path, "slow-link.yaml", SCENARIO)
    _write(tmp_path, "long-workload.yaml", WORKLOAD_LONGER)
    result = subprocess.run(
        [CHAOS, "list", str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for word in "A slow link while orders flow, a sentence long enough to wrap".split():
        assert word in out
    assert "Orders for twenty seconds" in out
    assert "~17 s" in out and "~25 s" in out
    assert "estimated time in all: ~42 s" in out
    assert "…" not in out


def test_list_marks_an_invalid_file_and_exits_2(tmp_path: Path) -> None:
    _write(tmp_path, "good.yaml", SCENARIO)
    _write(tmp_path, "bad.yaml", "name: bad\nworkload: [\n")
    result = subprocess.run(
        [CHAOS, "list", str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "invalid" in result.stdout
    assert "bad.yaml:2:" in result.stderr
