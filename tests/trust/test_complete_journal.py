"""Never green, and never a loss it cannot prove, from a broken run's journal (issue 17 item 1,
issue 16 item 5). ``chaos check`` and ``chaos replay`` run as a user runs them; no stack.

The two false greens of issue 16 are here as journals the runner leaves: a workload that crashed
before its first publish ("all 0 accepted tasks executed", exit 0 on main) and a failpoint armed
with ``at:`` alone that never fired (the run passed on main).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from chaos.scenario import load_scenario, resolve_timeline
from chaos.testing import SyntheticRun
from tests.trust.support import SCENARIOS, run_chaos

SCENARIO = SCENARIOS / "proxy-down.yaml"


def plan(run: SyntheticRun, messages: int, failpoint: str | None = None) -> None:
    faults, failpoints = [], []
    if failpoint:
        faults.append({"fault_id": "fp", "type": "failpoint", "target": failpoint})
        failpoints.append({"fault_id": "fp", "name": failpoint, "end": "end_of_run"})
    run.runner.emit(0.0, "run.plan", messages=messages, by_path={"naive": messages},
                    faults=faults, failpoints=failpoints)  # fmt: skip


def orders(run: SyntheticRun, count: int, executed: int) -> None:
    for number in range(count):
        run.publish(1.0 + number * 0.5, f"t{number}", f"order={number}")
        if number < executed:
            run.execute(1.1 + number * 0.5, f"t{number}")


def expect(tmp_path: Path, text: str) -> str:
    path = tmp_path / "expect.yaml"
    path.write_text(text)
    return str(path)


def check(run_dir: Path, *argv: str):  # noqa: ANN201
    finished = run_chaos("check", str(run_dir), *argv)
    assert "Traceback" not in finished.stderr, finished.stderr
    return finished, finished.stdout + finished.stderr


def test_a_complete_run_still_checks(tmp_path: Path) -> None:
    run = SyntheticRun()
    plan(run, 3)
    orders(run, 3, executed=3)
    run.finish(5.0)
    run.write(tmp_path / "run", shuffle_seed=2)

    finished, output = check(tmp_path / "run", "--expect", expect(tmp_path, "- check: no_lost\n"))

    assert finished.returncode == 0, output


def test_a_run_killed_in_its_drain_reports_no_loss(tmp_path: Path) -> None:
    run = SyntheticRun()
    plan(run, 16)
    orders(run, 16, executed=1)  # 15 still queued when the runner was killed: no run.finished
    run.write(tmp_path / "run")

    finished, output = check(tmp_path / "run", "--expect", expect(tmp_path, "- check: no_lost\n"))

    assert finished.returncode == 3, output
    assert "incomplete journal: no run.finished" in output
    assert "lost" not in output and "FAILED" not in output


def test_a_gap_in_a_writers_events_gives_no_verdict(tmp_path: Path) -> None:
    run = SyntheticRun()
    plan(run, 4)
    orders(run, 4, executed=4)
    run.finish(5.0)
    path = run.write(tmp_path / "run")
    lines = path.read_text().splitlines(keepends=True)
    lost = next(i for i, line in enumerate(lines)
                if '"writer":"worker-1@host","pid":101,"seq":2,' in line)  # fmt: skip
    path.write_text("".join(lines[:lost] + lines[lost + 1 :]))

    finished, output = check(tmp_path / "run")

    assert finished.returncode == 3, output
    assert "incomplete journal: worker-1@host/101 lost 1 event(s) (seq 2 of 0-" in output


def test_a_line_cut_by_a_full_disk_gives_no_verdict(tmp_path: Path) -> None:
    run = SyntheticRun()
    plan(run, 4)
    orders(run, 4, executed=4)
    run.finish(5.0)
    path = run.write(tmp_path / "run")
    lines = path.read_text().splitlines(keepends=True)
    # A short write: the first 40 bytes of line 6, then the next writer's whole line after them.
    lines[5] = lines[5][:40] + lines[6]
    del lines[6]
    path.write_text("".join(lines))

    finished, output = check(tmp_path / "run")

    assert finished.returncode == 3, output
    assert "incomplete journal: line 6 holds an event cut short" in output


def test_a_workload_that_crashed_before_publishing_is_not_green(tmp_path: Path) -> None:
    # issue 16: the app refused the workload's requests (DisallowedHost) before any publish.
    run = SyntheticRun()
    plan(run, 4)
    run.finish(5.0)
    run.write(tmp_path / "run")

    finished, output = check(tmp_path / "run", "--expect", expect(tmp_path, "- check: no_lost\n"))

    assert finished.returncode == 3, output
    assert "incomplete journal: the workload tried 0 of the 4 publishes planned" in output
    assert "held" not in output


def test_an_expectation_over_zero_tasks_is_not_exercised(tmp_path: Path) -> None:
    # The same crash in a journal from before plans: nothing says what was planned, but a check
    # that looked at zero tasks proves nothing.
    run = SyntheticRun()
    run.finish(5.0)
    run.write(tmp_path / "run")

    finished, output = check(tmp_path / "run", "--expect", expect(tmp_path, "- check: no_lost\n"))

    assert finished.returncode == 1, output
    assert "not exercised" in output and "zero tasks" in output


def own_verdicts(stdout: str) -> list[dict[str, Any]]:
    """``chaos check --json``'s verdicts of the expectations, without the always-on invariants."""
    return [v for v in json.loads(stdout) if not v["name"].startswith("invariant:")]


def test_a_failpoint_armed_with_at_alone_that_never_fired_is_not_exercised(tmp_path: Path) -> None:
    run = SyntheticRun()
    plan(run, 1, failpoint="shop.send_invoice_email")
    run.fault("fp", "failpoint", 0.0, 1.05, target="shop.send_invoice_email")
    orders(run, 1, executed=1)  # the task ran after the failpoint was healed: it never fired
    run.finish(5.0)
    run.write(tmp_path / "run")
    checks = "- check: no_lost\n- check: retries_as_declared\n"

    finished, output = check(tmp_path / "run", "--expect", expect(tmp_path, checks))
    assert finished.returncode == 1, output
    assert "not exercised" in output
    finished, output = check(tmp_path / "run", "--expect", expect(tmp_path, checks), "--json")
    verdicts = own_verdicts(finished.stdout)
    assert [v["ok"] for v in verdicts] == [False, False]
    assert verdicts[0]["unexercised"] == [
        "failpoint shop.send_invoice_email (fault fp) was armed and never fired"
    ]

    allowed = "- check: no_lost\n  allow_unexercised: true\n- check: retries_as_declared\n"
    finished, output = check(tmp_path / "run", "--expect", expect(tmp_path, allowed), "--json")
    verdicts = own_verdicts(finished.stdout)
    assert [(v["name"], v["ok"]) for v in verdicts] == [("no_lost", True),
                                                         ("retries_as_declared", False)]
    assert verdicts[0]["unexercised"]  # allowed, and still said in the report


def recorded_run(run_dir: Path, journal: SyntheticRun) -> None:
    """A run directory as chaos run leaves one, holding ``journal``."""
    run_dir.mkdir()
    timeline = resolve_timeline(load_scenario(SCENARIO).scenario, 0)
    shutil.copy(SCENARIO, run_dir / "scenario.yaml")
    (run_dir / "timeline.json").write_text(timeline.model_dump_json())
    (run_dir / "run.json").write_text(json.dumps({"run_id": "synthetic", "seed": 0,
                                                  "backend": "local", "source": str(SCENARIO)}))
    (run_dir / "report.json").write_text(json.dumps({"verdicts": [{"name": "no_lost",
                                                                   "ok": False}]}))  # fmt: skip
    journal.write(run_dir)


def test_replay_refuses_an_incomplete_recording(tmp_path: Path) -> None:
    run = SyntheticRun()
    plan(run, 4)
    orders(run, 4, executed=1)  # killed in its drain
    recorded_run(tmp_path / "run", run)

    finished = run_chaos("replay", str(tmp_path / "run"))

    output = finished.stdout + finished.stderr
    assert finished.returncode == 2, output
    assert "cannot replay: incomplete journal: no run.finished" in output
    assert "verdicts match" not in output and "Traceback" not in output


def test_replay_refuses_random_json(tmp_path: Path) -> None:
    recorded_run(tmp_path / "run", SyntheticRun())
    (tmp_path / "run" / "journal.jsonl").write_text('{"x": [1, 2]}\n17\n{"kind": null}\n')

    finished = run_chaos("replay", str(tmp_path / "run"))

    output = finished.stdout + finished.stderr
    assert finished.returncode == 2, output
    assert "not a journal event" in output and "verdicts match" not in output
