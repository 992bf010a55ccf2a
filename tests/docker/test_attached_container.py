"""The producer container's handle (chaos.stack.docker.attached) keeps the runner's protocol
with a local workload process: lines both ways, EOF when stdin closes, stderr in the log as it
comes, the exit code, SIGTERM; and the app-data volume takes the database and gives it back."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaos.stack.docker import engine_client, labelled_leftovers, reap_docker
from chaos.stack.docker.app_volume import DATABASE_IN_CONTAINER, AppDataVolume
from chaos.stack.docker.attached import AttachedContainer
from chaos.stack.docker.labels import run_labels

pytestmark = pytest.mark.docker

ECHO = """
import sys
line = sys.stdin.readline()
print("got " + line.strip(), flush=True)
print("said on stderr", file=sys.stderr, flush=True)
rest = sys.stdin.read()  # returns only at EOF
print(f"eof after {len(rest)} more bytes", flush=True)
sys.exit(3)
"""


@pytest.fixture
def run_id() -> Iterator[str]:
    run = f"attached{os.getpid()}"
    yield run
    reap_docker(run)
    assert labelled_leftovers(run) == []


def _create(image: str, run_id: str, command: list[str], **options) -> object:
    return engine_client().containers.create(
        image, command=command, stdin_open=True, init=True, labels=run_labels(run_id, "test"),
        network_disabled=True, **options,
    )  # fmt: skip


def _reader(process: AttachedContainer) -> tuple[list[str], threading.Thread]:
    lines: list[str] = []
    thread = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    thread.start()
    return lines, thread


def test_lines_both_ways_eof_on_close_stderr_to_the_log_and_the_exit_code(
    docker_images, run_id: str, tmp_path: Path
) -> None:
    log = tmp_path / "workload.log"
    process = AttachedContainer(_create(docker_images.worker, run_id, ["python", "-c", ECHO]), log)
    lines, thread = _reader(process)
    process.stdin.write("hello\n")
    process.stdin.flush()
    process.stdin.write("12345")
    process.stdin.close()  # the process's read() returns: EOF went through
    assert process.wait(timeout=60) == 3
    thread.join(timeout=10)
    assert lines == ["got hello\n", "eof after 5 more bytes\n"]
    assert process.poll() == 3
    assert log.read_text() == "said on stderr\n"


def test_terminate_ends_a_process_blocked_on_stdin(docker_images, run_id, tmp_path) -> None:
    blocked = ["python", "-c", "import sys; print('ready', flush=True); sys.stdin.readline()"]
    process = AttachedContainer(_create(docker_images.worker, run_id, blocked), tmp_path / "log")
    lines, _ = _reader(process)
    with pytest.raises(subprocess.TimeoutExpired):
        process.wait(timeout=2)  # alive, waiting for a line that never comes
    assert lines == ["ready\n"] and process.poll() is None
    process.terminate()
    assert process.wait(timeout=30) == 143  # SIGTERM, through docker-init


def test_the_app_data_volume_takes_the_database_and_gives_back_what_a_container_wrote(
    docker_images, run_id: str, tmp_path: Path
) -> None:
    database = tmp_path / "db.sqlite3"
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, status TEXT)")
        db.execute("INSERT INTO orders VALUES (1, 'new')")
    volume = AppDataVolume(engine_client(), run_id, docker_images.worker)
    volume.upload(database)
    # A container as an unprivileged user, as the workers run on a laptop: it must be able to
    # write the database and create SQLite's journal beside it.
    script = ("import sqlite3; db = sqlite3.connect(%r); "
              "db.execute(\"UPDATE orders SET status = 'paid' WHERE id = 1\"); db.commit()"
              % DATABASE_IN_CONTAINER)  # fmt: skip
    writer = _create(docker_images.worker, run_id, ["python", "-c", script], user="1234:1234",
                     volumes=volume.mount())  # fmt: skip
    writer.start()
    assert writer.wait(timeout=60)["StatusCode"] == 0, writer.logs().decode()[-2000:]
    (tmp_path / "back").mkdir()
    fetched = volume.fetch(tmp_path / "back" / "db.sqlite3")
    with sqlite3.connect(fetched) as db:
        assert db.execute("SELECT status FROM orders").fetchall() == [("paid",)]
    assert not fetched.with_name("db.sqlite3-journal").exists()
