"""The docker backend: Redis, the fault proxy and the app's workers as containers (Testcontainers).

Images are built here, never pulled (``chaos images``); see DESIGN.md for why. Names are imported
on first use, so that a container's own entry points (``proxy_main``) stay light and importing
the package needs no engine: the engine is asked for when a stack starts, with a clear error
when none answers.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "NO_ENGINE_HINT": "engine",
    "engine_client": "engine",
    "BuiltImages": "images",
    "ImageBuilder": "images",
    "ProxyImage": "images",
    "labelled_leftovers": "reaping",
    "reap_docker": "reaping",
    "RedisBrokerContainer": "redis_container",
    "DockerStack": "stack",
    "ToxiproxyContainer": "toxiproxy_container",
    "CeleryWorkerContainer": "worker_container",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        return getattr(importlib.import_module(f"{__name__}.{module}"), name)
    except ModuleNotFoundError as exc:  # testcontainers and docker are the "docker" extra
        from chaos.extras import missing_extra_error

        raise (missing_extra_error(exc) or exc) from None
