"""The run service (chaos.stack.docker.run_service) and its client (chaos.run_channel): processes
whose CHAOS_RUN_DIR does not exist on their file system journal, fire failpoints and learn that
the stack is up through the runner's socket, into the runner's run directory."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from chaos import failpoints
from chaos.journal import JOURNAL_FILE, JournalWriter, read_journal
from chaos.run_channel import ENV_RUN_SERVICE
from chaos.stack.launch import mark_stack_up

pytest.importorskip("docker")
from chaos.stack.docker.run_service import RunService  # noqa: E402

#: A folder no process here has: what a container's CHAOS_RUN_DIR is on the runner's machine.
ELSEWHERE = "/nonexistent-chaos-run"

CHILD = textwrap.dedent(
    """
    import json, sys
    from chaos import failpoints
    from chaos.journal import JournalWriter
    from chaos.stack import launch

    writer = JournalWriter.for_run_dir(sys.argv[1], "worker:" + sys.argv[2])
    writer.write("worker.ready", hostname=sys.argv[2])
    fired = 0
    for _ in range(3):
        try:
            failpoints.failpoint("shop.carrier")
        except ConnectionError:
            fired += 1
    print(json.dumps({"fired": fired, "up": launch._stack_is_up()}))
    """
)


def _child(address: str, name: str) -> subprocess.Popen[str]:
    env = {**os.environ, "CHAOS_RUN_DIR": ELSEWHERE, ENV_RUN_SERVICE: address}
    return subprocess.Popen([sys.executable, "-c", CHILD, ELSEWHERE, name], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def test_processes_without_the_run_directory_take_part_through_the_service(tmp_path: Path):
    assert not Path(ELSEWHERE).exists()
    failpoints.write_plans(tmp_path, {"shop.carrier": {"raise": "builtins.ConnectionError",
                                                       "hits_from": 2, "hits_to": 4}})  # fmt: skip
    runner = JournalWriter.for_run_dir(tmp_path, "runner")
    with RunService(tmp_path, "127.0.0.1") as service:
        runner.write("phase", name="start")
        mark_stack_up(tmp_path)
        children = [_child(service.address, f"w{n}") for n in (1, 2)]
        outputs = [child.communicate(timeout=60) for child in children]
    runner.close()
    for child, (out, err) in zip(children, outputs, strict=True):
        assert child.returncode == 0, err
    answers = [__import__("json").loads(out) for out, _ in outputs]
    # Six hits across two processes, counted in one place: hits 2, 3 and 4 fire, no more.
    assert sum(answer["fired"] for answer in answers) == 3, answers
    assert all(answer["up"] for answer in answers), answers
    events = list(read_journal(tmp_path / JOURNAL_FILE))
    kinds = [event.kind for event in events]
    assert kinds.count("worker.ready") == 2 and kinds.count("failpoint.fired") == 3, kinds
    assert {e.writer for e in events if e.kind == "worker.ready"} == {"worker:w1", "worker:w2"}
    assert (tmp_path / failpoints.HITS_DIR / "shop.carrier.hits").read_bytes() == b"." * 6


def test_a_process_whose_service_is_gone_fails_its_write_loudly(tmp_path: Path):
    with RunService(tmp_path, "127.0.0.1") as service:
        address = service.address
    env = {**os.environ, "CHAOS_RUN_DIR": ELSEWHERE, ENV_RUN_SERVICE: address}
    code = ("from chaos.journal import JournalWriter\n"
            f"JournalWriter.for_run_dir({ELSEWHERE!r}, 'w').write('worker.ready')\n")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.returncode != 0
    assert "run service" in done.stderr and "StackError" in done.stderr, done.stderr[-500:]


def test_half_a_request_is_not_journaled(tmp_path: Path):
    import socket
    import threading

    from chaos.stack._waiting import poll_until

    with RunService(tmp_path, "127.0.0.1") as service:
        idle = threading.active_count()
        host, _, port = service.address.rpartition(":")
        with socket.create_connection((host, int(port)), timeout=10) as conn:
            conn.sendall(b'J {"kind":"whole","wall":1,"mono":1,"writer":"w","pid":1,"seq":0}\n')
            assert conn.makefile("rb").readline() == b"ok\n"
            conn.sendall(b'J {"kind":"cut"')  # then the process dies
        # The connection's handler has read the cut request and ended (not just not reached it).
        assert poll_until(lambda: threading.active_count() == idle, 10)
    text = (tmp_path / JOURNAL_FILE).read_text()
    assert '"whole"' in text and "cut" not in text
