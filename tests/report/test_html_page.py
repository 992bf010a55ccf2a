"""report.html as people explore it: relative links, commands, task rows that open on their
attempts, a killed attempt ending at the kill, filter and zoom markup, margins in "expected"."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chaos.checks import run_checks
from chaos.history import build_history, load_history
from chaos.report import write_html, write_json
from chaos.report.attempt_ends import attempt_end
from chaos.testing import SyntheticRun

KILL_AT = 3.0


def killed_worker_run() -> SyntheticRun:
    """Worker 1 SIGKILLed at 3 s while running task k1 (started 2 s, no end recorded); task k2
    on worker 2 never ends either, and nothing killed its worker; the broker is killed 5 to 7 s
    while publishes are refused, some near its edges."""
    run = SyntheticRun()
    run.fault("worker-kill", "worker.kill", start=KILL_AT, end=4.0, target="worker-1")
    run.fault("broker-kill", "broker.kill", start=5.0, end=7.0)
    run.publish(1.0, "k1", "order=1")
    run.execute(2.0, "k1", 0, "none", worker=1)
    run.publish(1.5, "k2", "order=2")
    run.execute(2.5, "k2", 0, "none", worker=2)
    run.publish(0.5, "ok", "order=0")
    run.execute(0.6, "ok", 0, "retry", worker=2, countdown=0.5)
    run.execute(1.2, "ok", 1, "success", worker=2)
    for index, at in enumerate((5.1, 5.6, 6.0, 6.5, 6.9)):  # 5.1 and 6.9 are within the margin
        run.publish(at, f"r{index}", f"order={10 + index}", outcome="refused")
    run.finish(10.0)
    return run


@pytest.fixture
def page_dir(tmp_path: Path) -> Path:
    run_dir = tmp_path / "run"
    killed_worker_run().write(run_dir)
    (run_dir / "scenario.yaml").write_text("name: synthetic\n")
    (run_dir / "logs").mkdir()
    (run_dir / "logs" / "worker-1.log").write_text("log\n")
    history = load_history(run_dir)
    verdicts = run_checks(history, [{"check": "enqueue", "during_outage": "refused",
                                     "margin": 0.5}])  # fmt: skip
    write_json(run_dir, verdicts, history)
    write_html(run_dir, history, verdicts)
    return run_dir


def _page(run_dir: Path) -> str:
    return (run_dir / "report.html").read_text()


def test_links_to_the_run_files_are_relative_and_present(page_dir: Path) -> None:
    hrefs = re.findall(r'href="([^"]*)"', _page(page_dir))
    assert {"journal.jsonl", "scenario.yaml", "report.json", "logs/", "logs/worker-1.log"} <= set(
        hrefs
    )
    page = _page(page_dir)
    for href in hrefs:
        assert "://" not in href and not href.startswith("/"), href
        if href.startswith("#"):  # a task named by a verdict: its row in the timeline
            assert f'id="{href[1:]}"' in page
        else:
            assert (page_dir / href).exists(), href


def test_the_page_names_no_network_address_and_has_no_script(page_dir: Path) -> None:
    page = _page(page_dir)
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page and "<link" not in page and "<img" not in page


def test_replay_and_check_commands_are_given_as_text_to_copy(page_dir: Path) -> None:
    page = _page(page_dir)
    assert f'<code class="cmd">chaos replay {page_dir}</code>' in page
    assert f'<code class="cmd">chaos check {page_dir}</code>' in page


def test_a_killed_attempt_ends_at_the_kill_not_at_the_run_end() -> None:
    history = build_history(killed_worker_run().events)
    (killed,) = history.tasks["k1"].executions
    (running,) = history.tasks["k2"].executions
    assert attempt_end(killed, history, 10.0).at == KILL_AT
    assert attempt_end(killed, history, 10.0).how == "killed"
    # Worker 2 was never killed: its attempt has no end to draw but the run's.
    assert (attempt_end(running, history, 10.0).at, attempt_end(running, history, 10.0).how) == (
        10.0, "unfinished"
    )


def test_the_killed_row_draws_and_lists_the_attempt_up_to_the_kill(page_dir: Path) -> None:
    page = _page(page_dir)
    row = page[page.index('id="t-k1"'):]
    row = row[: row.index("</details>")]
    assert "o-killed" in page[page.rindex("<details", 0, page.index('id="t-k1"')):][:80]
    # The bar spans 2.005 s (started) to 3 s (the kill) of a 10 s run: left 20.05%, width 9.95%.
    assert 'class="m-a killed" style="left:20.050%;width:9.950%"' in row
    assert "<td>3.00 s killed</td>" in row
    assert "killed (worker killed (worker-1) 3.00 to 4.00 s)" in row


def test_task_rows_open_on_their_attempts(page_dir: Path) -> None:
    page = _page(page_dir)
    assert page.count('<details class="row') == 8
    row = page[page.index('id="t-ok"'):]
    row = row[: row.index("</details>")]
    for header in ("start", "end", "worker", "pid", "retries", "eta", "exception"):
        assert f"<th>{header}</th>" in row
    assert "<td>worker-2</td>" in row and "<td>201</td>" in row  # the synthetic child's pid
    assert "<td>0 of max 3</td>" in row and "next due" in row and "ValueError: boom" in row


def test_every_mark_has_a_tooltip(page_dir: Path) -> None:
    page = _page(page_dir)
    spans = re.findall(r'<span class="m-[^"]*"[^>]*>', page)
    assert spans and all(' title="' in span for span in spans)
    assert 'title="send_invoice_email[order=0] attempt 1 on worker-2 (pid 201): 1.20 s to 1.26 s, success' in page


def test_filter_and_zoom_work_without_a_script(page_dir: Path) -> None:
    page = _page(page_dir)
    for outcome in ("success", "refused", "killed", "unfinished"):
        assert f'<input type="checkbox" class="tl-toggle" id="f-{outcome}" checked>' in page
        assert f"#f-{outcome}:not(:checked) ~ .tl .o-{outcome} {{ display: none; }}" in page
    assert '<input type="radio" class="tl-toggle" name="zoom" id="z8">' in page
    assert "#z8:checked ~ .tl .canvas { --zoom: 8; }" in page
    assert "#f-flagged:checked ~ .tl .row:not(.flagged)" in page


def test_expected_shows_the_margin_and_explains_the_refused_count(page_dir: Path) -> None:
    page = _page(page_dir)
    assert ("margin 0.5 s at both ends of each window: broker killed 5.00 to 7.00 s, judged "
            "5.50 s to 6.50 s") in page  # fmt: skip
    # Five refused in all; the check counts those tried and answered strictly inside 5.5 to
    # 6.5 s: 5.6 and 6.0 (5.1 and 6.9 are within the margin, 6.5 is on its edge).
    note = re.search(r"5 publishes refused in the run: (\d) tried and answered inside an outage "
                     r"window shrunk by the 0.5 s margin \(what this check counts\), (\d) outside",
                     page)  # fmt: skip
    assert note is not None
    inside, outside = int(note.group(1)), int(note.group(2))
    assert inside + outside == 5 and inside == 2


def test_the_picture_ends_a_killed_attempt_at_the_kill_too() -> None:
    from chaos.report.timeline import _gather

    history = build_history(killed_worker_run().events)
    tasks = list(history.tasks.values())
    marks = _gather(tasks, 0.0, 10.0, history)
    row = float(tasks.index(history.tasks["k1"]))
    assert marks.killed == [(KILL_AT, row)]
    assert [(2.005, row), (KILL_AT, row)] in [[(round(a, 3), b), (c, d)]
                                              for (a, b), (c, d) in marks.bars[None]]
    # k2's worker was never killed: still drawn as never finished, to the run's end.
    assert (10.0, float(tasks.index(history.tasks["k2"]))) in marks.unfinished


def test_a_failed_verdict_links_its_tasks_to_their_rows(reported_hundred) -> None:
    page = (reported_hundred.run_dir / "report.html").read_text()
    assert '<a href="#t-task-031">send_invoice_email[order=31]</a>' in page
    assert 'id="t-task-031"' in page


def test_a_publish_that_hung_is_drawn_for_as_long_as_it_took(tmp_path: Path) -> None:
    run = SyntheticRun()
    run.publish(2.0, "slow", "order=1", outcome="refused", seconds=1.5)
    run.finish(10.0)
    run.write(tmp_path)
    page = write_html(tmp_path).read_text()
    assert '<span class="m-pub" style="left:20.000%;width:15.000%"' in page
