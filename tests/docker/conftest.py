"""Fixtures of the docker backend's tests: images built once, a stack shared by a module.

Image builds are not part of the test budget: ``scripts/test`` runs ``chaos images`` before or
beside pytest (a test that needs a tag being built waits on the build's lock), and a present image
costs a digest and one API call.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chaos.journal import read_journal
from chaos.stack._waiting import poll_until
from chaos.stack.base import REFERENCE_APP_DIR, StackConfig
from chaos.stack.docker import BuiltImages, DockerStack, ImageBuilder

#: Generous on purpose: two cores shared with other test runs; what is checked is that the
#: event happens, not how fast (speed is measured in benchmarks/docker_stack_start.py).
EVENT_TIMEOUT = 45.0


@pytest.fixture(scope="session")
def docker_images() -> BuiltImages:
    return ImageBuilder(progress=None).build_all(REFERENCE_APP_DIR, "auto")


@pytest.fixture(scope="module")
def docker_stack(docker_images: BuiltImages, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerStack]:
    config = StackConfig(workers=1, run_dir=tmp_path_factory.mktemp("docker-run"), start_timeout=60)
    with DockerStack(config, images=docker_images) as stack:
        yield stack


@pytest.fixture(scope="module")
def celery_app():
    from myproject.celery import app

    return app


def wait_for_event(run_dir: Path, kind: str, task_id: str, timeout: float = EVENT_TIMEOUT) -> dict:
    """The first ``kind`` event of ``task_id`` in the run's journal, waited for with a deadline."""

    def found():
        if not (run_dir / "journal.jsonl").exists():
            return None
        for event in read_journal(run_dir):
            if event.kind == kind and event.task_id == task_id:
                return {"kind": event.kind, "wall": event.wall, "data": dict(event.data)}
        return None

    event = poll_until(found, timeout, max_interval=0.2)
    if event is None:
        tail = (run_dir / "journal.jsonl").read_text().splitlines()[-15:]
        raise AssertionError(
            f"no {kind} for task {task_id} within {timeout:.0f} s; journal tail:\n"
            + "\n".join(tail)
        )
    return event


def bind_mounts(client, run_id: str, kind: str = "bind") -> dict[str, list[str]]:
    """Each container of run ``run_id`` on the engine ``client`` talks to -> its bind mounts'
    sources (``docker inspect``'s Mounts of type bind); ``kind="volume"``: its volumes' names
    and where they are mounted (``NAME:/path``)."""
    from chaos.stack.docker.labels import LABEL_RUN_ID

    containers = client.containers.list(all=True, filters={"label": f"{LABEL_RUN_ID}={run_id}"})
    return {c.name: [m["Source"] if kind == "bind" else f"{m['Name']}:{m['Destination']}"
                     for m in c.attrs.get("Mounts") or [] if m.get("Type") == kind]
            for c in containers}  # fmt: skip
