"""The names the suite gives its Redis connections, so that a server-side fault can pick them.

Behind the proxy every client Redis sees has the proxy's address; ``CLIENT LIST`` can still tell
a worker's connections from the workload's by the name kombu sets on connect (``CLIENT SETNAME``
from the ``client_name`` transport option). Imported by the worker launcher and the workload,
so it imports nothing heavy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Every broker connection of a worker is named ``chaos-worker:<hostname>`` (CLIENT SETNAME, by
#: kombu's ``client_name`` transport option), the workload's ``chaos-producer``: behind the proxy
#: every client has the proxy's address, so a name is the only way to tell them apart.
WORKER_CLIENT_PREFIX = "chaos-worker:"
PRODUCER_CLIENT_NAME = "chaos-producer"


def named_transport_options(options: Mapping[str, Any] | None, name: str) -> dict[str, Any]:
    """``options`` with ``client_name`` set to ``name`` unless the app named its clients itself."""
    named = dict(options or {})
    named.setdefault("client_name", name.replace(" ", "_"))
    return named
