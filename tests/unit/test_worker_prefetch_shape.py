"""A worker's prefetch shape reaches its launcher: the topology's for all, per_worker's over it,
as ``celery worker``'s own flags, read back as the settings the launcher applies."""

from __future__ import annotations

from chaos.stack.base import StackConfig
from chaos.stack.launch import _prefetch_settings, parse_args
from chaos.stack.shape import worker_shape


def _settings(config: StackConfig, name: str) -> dict[str, object]:
    options = worker_shape(config, name).launcher_options()
    return _prefetch_settings(parse_args(["myproject", *options]))


def test_the_topology_sets_every_worker_and_per_worker_overrides_one() -> None:
    config = StackConfig(
        workers=2, disable_prefetch=True, prefetch_multiplier=2,
        per_worker={"worker-2": {"disable_prefetch": False, "prefetch_multiplier": 1}},
    )  # fmt: skip
    assert _settings(config, "worker-1") == {
        "worker_prefetch_multiplier": 2, "worker_disable_prefetch": True,
    }  # fmt: skip
    assert _settings(config, "worker-2") == {
        "worker_prefetch_multiplier": 1, "worker_disable_prefetch": False,
    }  # fmt: skip


def test_nothing_said_leaves_the_apps_own_settings() -> None:
    assert _settings(StackConfig(), "worker-1") == {}
