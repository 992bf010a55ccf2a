"""One build of an image tag per engine at a time, across processes (chaos/stack/docker/build_lock).

The holder here is another process, as a background ``chaos images`` or an xdist worker would be;
the engine is a stand-in that only answers "is this tag present", since what is tested is who
builds, not how.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from docker.errors import ImageNotFound

from chaos.stack.docker.images import ImageBuilder

ENGINE = "unix://var/run/docker.sock"
TAG = "celery-chaos/base:0123456789abcdef"

#: Takes the lock, says so, and holds it until its stdin closes.
HOLDER = """
import sys
from pathlib import Path
from chaos.stack.docker.build_lock import build_lock
with build_lock(Path(sys.argv[1]), sys.argv[2], sys.argv[3]):
    print("held", flush=True)
    sys.stdin.read()
"""

#: Exit 0 if the lock is free now, 1 if another process holds it (never waits).
TRY_LOCK = """
import fcntl, hashlib, sys
from pathlib import Path
key = hashlib.sha256(f"{sys.argv[2]}\\n{sys.argv[3]}".encode()).hexdigest()[:24]
with (Path(sys.argv[1]) / f"{key}.lock").open("a") as handle:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(1)
"""


class Engine:
    """Answers images.get for the tags it has; records that it was asked."""

    def __init__(self) -> None:
        self.present: set[str] = set()
        self.asked = threading.Event()
        self.images = self
        self.api = SimpleNamespace(base_url=ENGINE)

    def get(self, tag: str) -> object:
        self.asked.set()
        if tag not in self.present:
            raise ImageNotFound(tag)
        return object()


@pytest.fixture
def locks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CHAOS_STATE_DIR", str(tmp_path))
    return tmp_path / "images" / "locks"


def free(locks: Path, engine: str = ENGINE, tag: str = TAG) -> bool:
    locks.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, "-c", TRY_LOCK, str(locks), engine, tag], timeout=30)
    return done.returncode == 0


def test_the_builder_holds_the_tags_lock_while_it_builds(locks: Path) -> None:
    builder = ImageBuilder(Engine(), progress=None)
    with builder._claim("base", TAG) as build:
        assert build
        assert not free(locks)
        assert free(locks, tag="celery-chaos/base:another"), "one lock per tag"
        assert free(locks, engine="tcp://127.0.0.1:2385"), "one lock per engine"
    assert free(locks)


def test_a_tag_built_by_the_lock_holder_meanwhile_is_not_built_again(locks: Path) -> None:
    engine = Engine()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(locks), ENGINE, TAG],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        decided: list[bool] = []

        def claim() -> None:
            with ImageBuilder(engine, progress=None)._claim("base", TAG) as build:
                decided.append(build)

        waiter = threading.Thread(target=claim)
        waiter.start()
        assert engine.asked.wait(30), "the builder never looked for the tag"
        assert decided == [], "it must wait for the holder, not build beside it"
        engine.present.add(TAG)  # the holder's build
    finally:
        holder.communicate("", timeout=30)  # closing stdin releases the lock
    waiter.join(30)
    assert decided == [False]
