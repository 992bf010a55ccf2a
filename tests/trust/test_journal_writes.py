"""Every journal append is checked: a short or failed write raises a StackError naming the journal
and leaves a mark the runner sees, and a disk that fills mid-run ends ``chaos run`` with exit 3,
never a verdict."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from chaos.errors import StackError
from chaos.journal import JOURNAL_FILE, JournalWriter, journal_write_failures, read_journal
from tests.trust.support import SCENARIOS, WORKTREE, Mount, fill

SHORT_WRITE_SCRIPT = textwrap.dedent(
    """
    import resource, signal, sys
    from chaos.errors import StackError
    from chaos.journal import JournalWriter

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past the limit: EFBIG instead of a kill
    resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))
    writer = JournalWriter(sys.argv[1], "test")
    written = 0
    try:
        while True:
            writer.write("task.started", task_id="t", padding="x" * 90)
            written += 1
    except StackError as exc:
        print(written, exc, sep="\\n")
    try:
        writer.write("phase", name="after")
    except StackError as exc:
        print("again:", exc)
    """
)


def test_a_short_write_fails_loudly_and_leaves_a_mark(tmp_path: Path) -> None:
    journal = tmp_path / JOURNAL_FILE

    done = subprocess.run([sys.executable, "-c", SHORT_WRITE_SCRIPT, str(journal)],
                          capture_output=True, text=True, timeout=60, cwd=WORKTREE,
                          check=False)  # fmt: skip

    assert done.returncode == 0, done.stderr
    complete, reason, again = done.stdout.splitlines()[:3]
    assert f"journal: cannot append to {journal}: only " in reason
    assert "bytes of an event were written" in reason
    assert again.startswith("again: journal: cannot append")
    assert journal.stat().st_size == 1000  # the cut line: its first part reached the file
    assert len(list(read_journal(journal))) == int(complete)  # the reader skips the cut tail
    assert len(journal_write_failures(journal)) == 1


def test_an_append_on_a_full_disk_names_the_journal(tmpfs: Mount) -> None:
    disk = tmpfs(size="64k")
    writer = JournalWriter(disk / JOURNAL_FILE, "test")
    writer.write("phase", name="start")
    fill(disk)

    with pytest.raises(StackError, match=f"journal: cannot append to {disk / JOURNAL_FILE}: "):
        for _ in range(100):  # the journal's last block may hold a few more lines
            writer.write("task.started", task_id="t", padding="x" * 200)
    writer.close()

    failures = journal_write_failures(disk / JOURNAL_FILE)
    assert len(failures) == 1 and str(os.getpid()) in failures[0]


@pytest.mark.chaos
def test_a_disk_that_fills_mid_run_ends_with_exit_3_naming_the_journal(
    tmp_path: Path, tmpfs: Mount
) -> None:
    out = tmpfs(size="1m")
    runner = subprocess.Popen(
        [sys.executable, "-m", "chaos", "run", str(SCENARIOS / "proxy-down.yaml"), "--out",
         str(out)],
        cwd=WORKTREE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "CHAOS_SKIP_DOCKER_SETUP": "1"},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while not any(b'"name":"workload"' in j.read_bytes() for j in out.glob("*/journal.jsonl")):
            assert runner.poll() is None, runner.communicate()
            assert time.monotonic() < deadline, "the workload never started"
            time.sleep(0.05)  # polling the journal, not synchronising on time
        fill(out)
        stdout, stderr = runner.communicate(timeout=120)
    finally:
        if runner.poll() is None:
            runner.send_signal(signal.SIGTERM)
            runner.communicate(timeout=60)

    text = stderr.decode(errors="replace")
    assert runner.returncode == 3, text
    assert "infrastructure error, no verdict: journal:" in text
    assert "journal.jsonl" in text
    assert "Traceback" not in text
    assert b"all expectations held" not in stdout and b"FAILED" not in stdout
