"""The engine connection's error, and image tags that make a second build a no-op."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from chaos.errors import StackError
from chaos.stack.base import REFERENCE_APP_DIR
from chaos.stack.docker import ImageBuilder
from chaos.stack.docker.engine import connect_engine
from chaos.stack.docker.images import CHAOS_PACKAGE_DIR

pytestmark = pytest.mark.docker


def test_no_engine_is_a_stack_error_with_a_hint(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")
    with pytest.raises(StackError) as raised:
        connect_engine()
    assert "start dockerd" in str(raised.value)
    assert "--backend local" in str(raised.value)


def test_second_build_builds_nothing(docker_images, tmp_path):
    # From a copy of chaos/: an edit of the work tree meanwhile rightly makes a new runtime
    # image, which is not what this test is about. In a clean checkout the copy's images are
    # the session's own, so nothing is built at all.
    package = tmp_path / "chaos"
    shutil.copytree(CHAOS_PACKAGE_DIR, package, ignore=shutil.ignore_patterns("__pycache__"))
    first = ImageBuilder(progress=None, chaos_package_dir=package).build_all(REFERENCE_APP_DIR)
    builder = ImageBuilder(progress=None, chaos_package_dir=package)
    try:
        assert builder.build_all(REFERENCE_APP_DIR) == first
        assert builder.build_seconds == {}
    finally:
        session_tags = {docker_images.runtime, docker_images.proxy.tag, docker_images.worker}
        for tag in {first.runtime, first.proxy.tag, first.worker} - session_tags:
            builder.client.images.remove(tag, force=True)


def test_worker_image_tag_follows_the_app_files(docker_images, tmp_path):
    def app_dir(where: str, source: str, state: bool = False) -> Path:
        directory = tmp_path / where / "tinyapp"
        directory.mkdir(parents=True)
        (directory / "tasks.py").write_text(source)
        if state:
            (directory / "cache.sqlite3").write_text("state, not source")
        return directory

    builder = ImageBuilder(progress=None)  # one builder: one runtime image under all three
    first = builder.worker(app_dir("one", "from celery import Celery\napp = Celery('tiny')\n"))
    second = builder.worker(app_dir("two", "from celery import Celery\napp = Celery('tinier')\n"))
    try:
        assert first != second
        third = builder.worker(
            app_dir("three", "from celery import Celery\napp = Celery('tinier')\n", state=True)
        )
        assert third == second
    finally:
        for tag in {first, second}:
            builder.client.images.remove(tag, force=True)


def test_chaos_images_command_prints_every_tag(docker_images, capsys):
    from chaos.cli import main

    assert main(["images", "--quiet"]) == 0
    printed = capsys.readouterr().out
    for line_start in ("base ", "redis ", "runtime ", "proxy ", "worker "):
        assert any(line.startswith(line_start) for line in printed.splitlines()), printed
    assert docker_images.redis in printed


def test_prune_untags_older_images_and_keeps_the_current_ones(docker_images):
    builder = ImageBuilder(progress=None)
    stale = "celery-chaos/worker-prunetest:0000000000000000"
    builder.client.images.get(docker_images.redis).tag(stale)
    keep = {docker_images.base, docker_images.redis, docker_images.runtime,
            docker_images.proxy.tag, docker_images.worker}  # fmt: skip
    # Limited to the test's own repository: a colleague's run may hold other tags right now.
    removed = builder.prune_other_tags(keep | {"celery-chaos/worker-prunetest:kept"},
                                       repository="celery-chaos/worker-prunetest")  # fmt: skip
    assert removed == [stale]
    assert not builder.image_exists(stale)
    assert all(builder.image_exists(tag) for tag in keep)
