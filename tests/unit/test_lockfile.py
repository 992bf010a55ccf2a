"""The hashed lock: installable with --require-hashes, usable as constraints without its hashes."""

from __future__ import annotations

from pathlib import Path

from chaos.lockfile import pins_without_hashes

ROOT = Path(__file__).resolve().parents[2]


def test_every_pin_of_the_lock_carries_a_hash() -> None:
    # scripts/setup installs the lock with --require-hashes: one pin without a hash and the whole
    # install is refused, so a lock regenerated without --generate-hashes fails here first.
    text = (ROOT / "requirements.lock").read_text()
    blocks = text.split("\n")
    pins = [line for line in blocks if line and not line.startswith((" ", "#"))]
    assert len(pins) > 50
    for index, line in enumerate(blocks):
        if line in pins:
            assert line.endswith("\\"), f"requirements.lock: {line!r} has no --hash"
            assert blocks[index + 1].strip().startswith("--hash=sha256:"), line


def test_constraints_keep_every_pin_and_drop_the_hashes() -> None:
    lock = (
        "# comment\n"
        "amqp==5.4.2 \\\n"
        "    --hash=sha256:aa \\\n"
        "    --hash=sha256:bb\n"
        "    # via kombu\n"
        "kombu==5.7.0 \\\n"
        "    --hash=sha256:cc\n"
    )
    assert pins_without_hashes(lock) == "amqp==5.4.2\nkombu==5.7.0\n"


def test_the_real_lock_gives_one_constraint_per_pin() -> None:
    text = (ROOT / "requirements.lock").read_text()
    constraints = pins_without_hashes(text).splitlines()
    assert all("==" in line and "hash" not in line for line in constraints)
    assert any(line.startswith("celery==") for line in constraints)
