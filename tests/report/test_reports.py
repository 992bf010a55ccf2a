"""report.json, the timeline picture, the HTML page and the JUnit properties, on synthetic runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from chaos.checks.verdict import Verdict
from chaos.cli import main as chaos_main
from chaos.errors import ConfigError
from chaos.report import (
    junit_properties,
    read_report,
    read_verdicts,
    resume_marks,
    verdict_text,
    write_html,
    write_json,
    write_timeline,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_report_json_round_trips_the_verdicts(reported_hundred) -> None:
    run_dir, _, verdicts = reported_hundred
    document = json.loads((run_dir / "report.json").read_text())
    assert document["ok"] is False
    assert document["summary"]["failed_checks"] == ["delivery"]
    assert document["tasks"]["count"] == 100
    by_outcome = document["tasks"]["by_outcome"]
    assert set(by_outcome) == {"success", "failure", "refused", "never executed", "unfinished"}
    assert (by_outcome["never executed"], by_outcome["unfinished"], by_outcome["failure"]) == (
        2, 3, 1
    )
    assert document["runner"] == {"wall": 1.5}
    assert [e["check"] for e in document["expectations"]] == [
        "delivery", "retries_as_declared", "resume_within"
    ]
    assert [v.to_dict() for v in read_verdicts(run_dir)] == [v.to_dict() for v in verdicts]


def test_report_json_names_the_resume_after_the_broker_heal(reported_hundred) -> None:
    document = read_report(reported_hundred.run_dir)
    # The latency window is not an outage: only the broker kill has a resume time.
    assert [r["fault_id"] for r in document["resume"]] == ["broker-kill"]
    # The synthetic backlog starts 1.4 s after the heal (the worker's reconnect sleep).
    assert document["resume"][0]["seconds"] == pytest.approx(1.4, abs=0.05)


def test_write_json_is_atomic_and_lists_the_pictures(reported_hundred) -> None:
    run_dir, history, verdicts = reported_hundred
    document = json.loads(write_json(run_dir, verdicts, history).read_text())
    assert document["files"] == {"journal": "journal.jsonl", "timeline_png": "timeline.png",
                                 "timeline_svg": "timeline.svg", "html": "report.html"}
    assert not list(run_dir.glob(".report.json.*"))


def test_missing_report_is_a_config_error_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="report.json: no report here"):
        read_report(tmp_path)


def test_timeline_writes_png_and_svg(reported_hundred) -> None:
    run_dir = reported_hundred.run_dir
    assert (run_dir / "timeline.png").read_bytes().startswith(PNG_SIGNATURE)
    svg_path = run_dir / "timeline.svg"
    assert ElementTree.parse(svg_path).getroot().tag.endswith("svg")
    text = svg_path.read_text()
    # Text stays text in the SVG: task labels, fault labels and the resume note are searchable.
    assert "send_invoice_email[order=31]" in text
    assert "broker kill" in text
    assert "resumed 1.40 s after heal" in text
    assert "FAILED: delivery" in text


def test_timeline_grows_with_the_task_count(reported_hundred, small_run_dir: Path) -> None:
    from PIL import Image

    short = write_timeline(small_run_dir).png
    with Image.open(reported_hundred.run_dir / "timeline.png") as tall_image, \
            Image.open(short) as short_image:
        # 100 rows at 0.15 in need about 15 in (1650 px at 110 dpi); 3 rows fit the minimum.
        assert tall_image.height > 1500
        assert short_image.height < 500
        assert tall_image.width == short_image.width


def test_resume_marks_ignore_unhealed_and_non_outage_windows(reported_hundred) -> None:
    marks = resume_marks(reported_hundred.history)
    assert [(m.window.fault_id, round(m.healed_at, 2)) for m in marks] == [("broker-kill", 12.0)]


def test_timeline_of_an_empty_run_still_draws(tmp_path: Path) -> None:
    from chaos.testing import SyntheticRun

    run = SyntheticRun()
    run.finish(2.0)
    run.write(tmp_path)
    paths = write_timeline(tmp_path)
    assert "no task events in this run" in paths.svg.read_text()


def test_html_page_is_self_contained(reported_hundred) -> None:
    page = (reported_hundred.run_dir / "report.html").read_text()
    # Nothing fetched from elsewhere: no external stylesheet, script or image; the timeline is
    # the page's own markup, and the picture beside it is linked, not embedded.
    assert "<svg" not in page and "<img" not in page and "<link" not in page
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page
    assert '<a href="timeline.png">' in page
    assert 'class="failed"' in page and "delivery" in page
    assert "send_invoice_email[order=31]: accepted by the broker" in page


def test_html_without_report_json_uses_the_default_checks(small_run_dir: Path) -> None:
    page = write_html(small_run_dir).read_text()
    assert "the default checks" in page
    assert "retries_as_declared" in page


def test_chaos_report_command_prints_the_page_path(
    small_run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert chaos_main(["report", str(small_run_dir)]) == 0
    printed = Path(capsys.readouterr().out.strip())
    assert printed == (small_run_dir / "report.html").resolve()
    assert printed.is_file()


def test_chaos_report_on_a_missing_directory_exits_2(tmp_path: Path) -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "chaos", "report", str(tmp_path / "nope")],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert finished.returncode == 2
    assert "no such run directory" in finished.stderr


def test_verdict_text_is_plain_ascii() -> None:
    verdicts = [
        Verdict(name="no_lost", ok=False, expected="lost 0", observed="lost 1",
                message="send_invoice_email[order=17]: accepted at 12.03 s, never executed"),
        Verdict(name="sanity", ok=True, expected="-", observed="-", message="consistent"),
    ]
    text = verdict_text(verdicts, title="broker kill")
    assert text.isascii()
    assert "\x1b[" not in text
    assert "FAILED" in text and "held" in text and "order=17" in text
    assert "1 of 2 expectations held" in text


def test_junit_properties_name_each_verdict_and_the_files(reported_hundred) -> None:
    hundred_run_dir, _, verdicts = reported_hundred
    properties = dict(junit_properties(verdicts, hundred_run_dir))
    assert properties["chaos.verdict.delivery"].startswith("FAILED: send_invoice_email")
    assert properties["chaos.verdict.retries_as_declared"].startswith("held: ")
    assert properties["chaos.verdicts"] == "2 of 3 held"
    assert properties["chaos.timeline_png"] == str(hundred_run_dir / "timeline.png")
    assert properties["chaos.report_json"] == str(hundred_run_dir / "report.json")


def test_junit_properties_keep_repeated_checks_apart() -> None:
    verdicts = [
        Verdict(name="resume_within", ok=True, expected="", observed="", message="a"),
        Verdict(name="resume_within", ok=False, expected="", observed="", message="b"),
    ]
    assert [name for name, _ in junit_properties(verdicts)][:2] == [
        "chaos.verdict.resume_within", "chaos.verdict.resume_within#2"
    ]


def test_report_json_lists_pictures_drawn_after_it(small_run_dir: Path) -> None:
    from chaos.checks import run_checks
    from chaos.history import load_history
    from chaos.report import list_report_files

    history = load_history(small_run_dir)
    write_json(small_run_dir, run_checks(history, [{"check": "no_lost"}]), history)
    assert read_report(small_run_dir)["files"] == {"journal": "journal.jsonl"}
    write_timeline(small_run_dir, history)
    list_report_files(small_run_dir)
    assert read_report(small_run_dir)["files"] == {
        "journal": "journal.jsonl", "timeline_png": "timeline.png", "timeline_svg": "timeline.svg"
    }
