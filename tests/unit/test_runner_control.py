"""Which workers the runner pings after the drain, and with which remote-control settings."""

from __future__ import annotations

from pathlib import Path

from chaos.runner.control import live_workers
from chaos.testing import SyntheticRun


def test_live_workers_are_those_whose_last_word_is_not_a_stop(tmp_path: Path) -> None:
    run = SyntheticRun()
    first, _ = run.worker(1)
    second, _ = run.worker(2)
    control = {"enabled": True, "exchange": "celery", "transport_options": {}}
    first.emit(0.5, "worker.ready", hostname="worker-1", control=control)
    second.emit(0.6, "worker.ready", hostname="worker-2", control=control)
    second.emit(3.0, "worker.shutdown", hostname="worker-2")
    first.emit(4.0, "worker.crashed", hostname="worker-1")
    first.emit(6.0, "worker.ready", hostname="worker-1", control=control)  # restarted
    journal = run.write(tmp_path)
    assert live_workers(journal) == (["worker-1"], control)


def test_workers_that_reported_no_control_settings_give_none(tmp_path: Path) -> None:
    run = SyntheticRun()
    run.worker_ready(0.5)  # a journal from before the probe reported them
    asked, control = live_workers(run.write(tmp_path))
    assert asked == ["worker-1"] and control is None


def test_a_dilated_run_skips_the_ping_and_says_why(tmp_path: Path) -> None:
    from chaos.clock import AppClock
    from chaos.journal import JournalWriter, read_journal
    from chaos.runner.control import ask_control

    run = SyntheticRun()
    parent, _ = run.worker(1)
    parent.emit(0.5, "worker.ready", hostname="worker-1",
                control={"enabled": True, "exchange": "celery", "transport_options": {}})
    journal = run.write(tmp_path)
    writer = JournalWriter.for_run_dir(tmp_path, "runner@test", AppClock())
    # No broker at this address: a ping would fail; a dilated run must not even try.
    ask_control(writer, tmp_path, "redis://127.0.0.1:1/0", dilation=10.0)
    writer.close()
    (event,) = [e for e in read_journal(journal) if e.kind == "control.ping"]
    assert event.data["answered"] == [] and "dilated clock (x10)" in event.data["skipped"]
