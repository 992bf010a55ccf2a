"""Known breakage and eventual execution on synthetic runs: a promise the scenario says is broken
passes the gate as KNOWN BROKEN while it stays broken and fails it ("now holds") once fixed; every
output (table, JUnit, report.json, replay, HTML) says which."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest

from chaos.checks import run_checks, verdict_table
from chaos.checks.promises import NOW_HOLDS
from chaos.checks.verdict import Verdict
from chaos.errors import ConfigError
from chaos.history import build_history
from chaos.runner.replay import compare_verdicts
from chaos.testing import SyntheticRun

WHY = "refused publishes are dropped; fix: a transactional outbox (path: durable)"


def orders_run(refused: int = 2, durable_refused: int = 0) -> SyntheticRun:
    """Eight naive orders, ``refused`` of them refused in an outage (never executed), and
    ``durable_refused`` durable ones refused, kept by the outbox and run after the heal."""
    run = SyntheticRun()
    run.fault("redis-down", "broker.kill", start=2.0, end=7.0)
    for n in range(8):
        task_id = f"n{n}"
        if n < refused:
            run.publish(3.0 + n * 0.25, task_id, f"order={n}", outcome="refused")
        else:
            run.publish(0.2 + n * 0.25, task_id, f"order={n}")
            run.execute(0.3 + n * 0.25, task_id, duration=0.05)
    for n in range(durable_refused):
        task_id = f"d{n}"
        run.publish(3.1 + n * 0.25, task_id, f"order=d{n}", outcome="refused", path="durable")
        run.publish(8.0 + n * 0.1, task_id, f"order=d{n}", path="durable")
        run.execute(8.5 + n * 0.1, task_id, duration=0.05)
    run.finish(12.0)
    return run


def verdict_on(run: SyntheticRun, **expectation) -> Verdict:
    (verdict,) = run_checks(build_history(run.events), [expectation])
    return verdict


def test_refused_orders_were_never_executed_on_the_naive_path() -> None:
    verdict = verdict_on(orders_run(refused=3), check="eventually_executed", path="naive")
    assert not verdict.ok and verdict.status == "FAILED"
    assert verdict.observed == "5 of 8 tried on the naive path executed; 3 never executed"
    assert verdict.message.startswith("send_invoice_email[order=0]: tried at 3.00 s (refused)")
    assert verdict.message.endswith("never executed (and 2 more)")
    assert verdict.details["never_executed"] == 3


def test_the_durable_path_executes_every_order_it_tried() -> None:
    verdict = verdict_on(orders_run(refused=3, durable_refused=2), check="eventually_executed",
                         path="durable")  # fmt: skip
    assert verdict.ok, verdict.message
    assert verdict.message == "all 2 tasks tried on the durable path executed"


def test_a_run_that_tried_no_task_on_the_path_fails() -> None:
    verdict = verdict_on(orders_run(), check="eventually_executed", path="durable")
    assert not verdict.ok
    assert verdict.message == "no task was tried on the durable path: nothing to judge, so nothing held"


def test_a_known_broken_promise_that_breaks_passes_the_gate_as_known_broken() -> None:
    verdict = verdict_on(orders_run(), check="eventually_executed", path="naive",
                         known_broken=WHY)  # fmt: skip
    assert verdict.ok and verdict.status == "KNOWN BROKEN"
    assert verdict.known_broken == WHY and verdict.params == {"path": "naive"}
    record = verdict.to_dict()
    assert record["status"] == "KNOWN BROKEN" and record["known_broken"] == WHY
    assert Verdict.from_dict(record).status == "KNOWN BROKEN"


def test_a_fix_flips_a_known_broken_promise_to_a_failing_now_holds() -> None:
    fixed = orders_run(refused=0)  # every order accepted: the promise holds now
    verdict = verdict_on(fixed, check="eventually_executed", path="naive", known_broken=WHY)
    assert not verdict.ok and verdict.status == "FAILED"
    assert verdict.message.startswith(f"{NOW_HOLDS} ({WHY})")


def test_a_verdict_without_known_broken_keeps_its_old_record() -> None:
    record = verdict_on(orders_run(), check="no_lost").to_dict()
    assert "known_broken" not in record and "status" not in record


def test_a_scenario_known_broken_as_a_whole_needs_one_failure() -> None:
    history = build_history(orders_run().events)
    expectations = [{"check": "no_lost"}, {"check": "eventually_executed"}]
    verdicts = run_checks(history, expectations, known_broken=WHY)
    assert [(v.name, v.status) for v in verdicts] == [
        ("no_lost", "held"), ("eventually_executed", "KNOWN BROKEN")
    ]
    fixed = run_checks(build_history(orders_run(refused=0).events), expectations, known_broken=WHY)
    assert [(v.name, v.ok) for v in fixed] == [
        ("no_lost", True), ("eventually_executed", True), ("known_broken", False)
    ]
    assert fixed[-1].message.startswith(NOW_HOLDS)


@pytest.mark.parametrize("value", [3, "", None, ["why"]])
def test_known_broken_must_be_a_reason_in_words(value: object) -> None:
    with pytest.raises(ConfigError) as raised:
        verdict_on(orders_run(), check="no_lost", known_broken=value)
    (problem,) = raised.value.problems
    assert problem.field_path == "expectations[0].known_broken"
    assert "must say why" in problem.message


def test_the_table_junit_and_replay_tell_known_broken_apart(tmp_path: Path) -> None:
    from chaos.report.junit import write_junit
    from chaos.runner.run import RunResult

    history = build_history(orders_run().events)
    known = run_checks(history, [{"check": "no_lost"},
                                 {"check": "eventually_executed", "known_broken": WHY}])  # fmt: skip
    plain = run_checks(history, [{"check": "no_lost"}, {"check": "eventually_executed"}])
    caption = verdict_table(known).caption
    assert caption == "1 of 2 expectations held, 1 known broken (as the scenario says)"
    result = RunResult("orders", "r1", tmp_path, 1, "local", known)
    assert result.ok
    suite = ElementTree.parse(write_junit(tmp_path / "j.xml", [result])).getroot()[0]
    assert suite.get("failures") == "0" and suite.get("skipped") == "1"
    skipped = suite.find("testcase[@name='eventually_executed']/skipped")
    assert skipped is not None and skipped.get("message") == f"KNOWN BROKEN: {WHY}"
    # Same ok-ness as a plain failure would not have: replay compares the status.
    (difference,) = compare_verdicts(plain, known)
    assert difference.check == "eventually_executed"
    assert compare_verdicts(known, run_checks(history, [
        {"check": "no_lost"}, {"check": "eventually_executed", "known_broken": WHY}])) == []


def test_report_json_and_html_show_known_broken(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from chaos.report import write_html, write_json

    run = orders_run()
    run.write(tmp_path)
    history = build_history(run.events)
    verdicts = run_checks(history, [{"check": "eventually_executed", "known_broken": WHY}])
    write_json(tmp_path, verdicts, history)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["ok"] is True
    assert report["summary"]["known_broken"] == 1 and report["summary"]["held"] == 0
    page = write_html(tmp_path).read_text()
    assert "KNOWN BROKEN (1)" in page and f"known broken: {WHY}" in page.replace("&quot;", '"')


def test_a_scenario_file_gets_a_clear_error_for_a_known_broken_that_is_not_text() -> None:
    from chaos.scenario import load_scenario_text

    text = (Path(__file__).resolve().parents[2] / "scenarios" / "broker-restart-during-orders.yaml"
            ).read_text()  # fmt: skip
    start = text.index("    known_broken: >-")
    broken = text[:start] + "    known_broken: 3\n"
    with pytest.raises(ConfigError) as raised:
        load_scenario_text(broken, "faq.yaml")
    (problem,) = raised.value.problems
    assert "known_broken must say why" in problem.message and problem.given == "3"
    assert load_scenario_text(text, "faq.yaml").scenario.expect[-1].params["known_broken"]
