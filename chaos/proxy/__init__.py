"""The fault proxy: a server that speaks Toxiproxy 2.x's HTTP API, and a client for it.

Start the project's own server in this process (its own thread and event loop) or as a
subprocess, and drive it through the API::

    from chaos.proxy import ProxyServer, ToxiproxyClient

    with ProxyServer(seed=7) as server:
        redis_proxy = ToxiproxyClient(server.api_url).create_proxy("redis", "127.0.0.1:6379")
        with redis_proxy.toxic("latency", latency=100):
            ...  # clients of 127.0.0.1:<redis_proxy.listen_port> see 100 ms more per reply
        redis_proxy.disable()  # Toxiproxy's "down"

Using a real Toxiproxy instead: ``start_proxy_server()`` starts ``$CHAOS_TOXIPROXY_SERVER``
(a path to ``toxiproxy-server``), or a ``toxiproxy-server`` found on PATH, and falls back to
the project's own server; ``CHAOS_TOXIPROXY_SERVER=builtin`` forces the project's own. Because
the package talks to either only through the HTTP API, a real server is a drop-in, except for
two documented extensions of ours:

- the ``redis_error`` toxic (stream upstream): answers matching Redis commands with an error
  reply instead of forwarding them. Attributes: ``error`` (``OOM``, ``LOADING``, ``READONLY``,
  ``BUSY``, ``MASTERDOWN``, ``TRYAGAIN`` or a whole reply line such as ``ERR custom``),
  ``commands`` (names, e.g. ``["LPUSH"]``; empty means every command), ``count`` (answer that many
  commands over all connections, then forward again; 0 means no limit). Its toxicity is drawn
  per matching command.
- ``GET /seed`` and ``POST /seed {"seed": N}``: the seed of every random draw (toxicity, jitter,
  slicer). Draws are derived from (seed, proxy name, connection number), so a run with the
  same seed and the same connections draws the same. ``chaos proxy --seed N`` sets it at start.

The server's listeners bind loopback only unless it was started with ``allow_remote`` /
``--allow-remote`` (the docker backend runs it inside a container bound to 0.0.0.0).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Public name -> the module that defines it. Loaded on first use, so that the proxy's command
#: line (``chaos.proxy.command``) and the proxy model do not import the server's aiohttp.
_EXPORTS = {
    "ProxyHandle": "client",
    "ToxicHandle": "client",
    "ToxiproxyClient": "client",
    "ExternalToxiproxyServer": "launch",
    "find_toxiproxy_binary": "launch",
    "start_proxy_server": "launch",
    "TOXIC_ATTRIBUTES": "model",
    "TOXIPROXY_VERSION": "model",
    "ProxyServer": "server",
    "ProxyService": "server",
}

if TYPE_CHECKING:
    from chaos.proxy.client import ProxyHandle, ToxicHandle, ToxiproxyClient
    from chaos.proxy.launch import (
        ExternalToxiproxyServer,
        find_toxiproxy_binary,
        start_proxy_server,
    )
    from chaos.proxy.model import TOXIC_ATTRIBUTES, TOXIPROXY_VERSION
    from chaos.proxy.server import ProxyServer, ProxyService

__all__ = [
    "TOXIC_ATTRIBUTES",
    "TOXIPROXY_VERSION",
    "ExternalToxiproxyServer",
    "ProxyHandle",
    "ProxyServer",
    "ProxyService",
    "ToxicHandle",
    "ToxiproxyClient",
    "find_toxiproxy_binary",
    "start_proxy_server",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
