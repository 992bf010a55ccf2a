"""The local backend: Redis, the fault proxy and ``celery worker`` processes on 127.0.0.1.

Mirrors ``chaos.stack.docker``: the stack in ``stack``, each part in its own module (the broker
process, child processes and the fork server, the proxy link, the reaper of crashed runs). Names
are imported on first use, so that the fork server's preload module stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "LocalBroker": "broker",
    "ChildProcess": "process",
    "ForkedChild": "forkserver",
    "BrokerProxy": "proxy_link",
    "reap_run": "reaping",
    "reap_stale_runs": "reaping",
    "registered_runs": "reaping",
    "LocalStack": "stack",
    "LocalWorker": "stack",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
