"""The engine connection's error, and image tags that make a second build a no-op."""

from __future__ import annotations

import pytest

from chaos.errors import StackError
from chaos.stack.base import REFERENCE_APP_DIR
from chaos.stack.docker import ImageBuilder
from chaos.stack.docker.engine import connect_engine

pytestmark = pytest.mark.docker


def test_no_engine_is_a_stack_error_with_a_hint(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")
    with pytest.raises(StackError) as raised:
        connect_engine()
    assert "start dockerd" in str(raised.value)
    assert "--backend local" in str(raised.value)


def test_second_build_builds_nothing(docker_images):
    builder = ImageBuilder(progress=None)
    again = builder.build_all(REFERENCE_APP_DIR, "auto")
    assert again == docker_images
    assert builder.build_seconds == {}


def test_worker_image_tag_follows_the_app_files(docker_images, tmp_path):
    app_dir = tmp_path / "tinyapp"
    app_dir.mkdir()
    (app_dir / "tasks.py").write_text("from celery import Celery\napp = Celery('tiny')\n")
    builder = ImageBuilder(progress=None)
    first = builder.worker(app_dir)
    (app_dir / "tasks.py").write_text("from celery import Celery\napp = Celery('tinier')\n")
    second = ImageBuilder(progress=None).worker(app_dir)
    assert first != second
    try:
        (app_dir / "cache.sqlite3").write_text("state, not source")
        assert ImageBuilder(progress=None).worker(app_dir) == second
    finally:
        for tag in (first, second):
            builder.client.images.remove(tag, force=True)
