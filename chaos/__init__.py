"""chaos: fault injection and resilience checks for Celery apps on a Redis broker.

The public API, in the order of the data flow: a stack (Redis, the fault proxy, workers), the proxy
client, the journal, a scenario run, its history and verdicts. Names load on first use, so that
``from chaos import failpoint`` in task code costs a worker nothing at start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from chaos.errors import ChaosError, ConfigError, ProxyError, StackError
from chaos.failpoints import failpoint

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_LAZY = {
    "StackConfig": "chaos.stack.base",
    "Stack": "chaos.stack.base",
    "open_stack": "chaos.stack",
    "ProxyServer": "chaos.proxy",
    "ToxiproxyClient": "chaos.proxy",
    "ProxyHandle": "chaos.proxy",
    "start_proxy_server": "chaos.proxy",
    "Event": "chaos.journal",
    "JournalWriter": "chaos.journal",
    "read_journal": "chaos.journal",
    "load_scenario": "chaos.scenario",
    "Scenario": "chaos.scenario",
    "run_scenario": "chaos.runner",
    "RunResult": "chaos.runner",
    "load_history": "chaos.history",
    "RunHistory": "chaos.history",
    "Verdict": "chaos.checks",
    "run_checks": "chaos.checks",
    "CHECKS": "chaos.checks",
    "machine_allowance": "chaos.checks.allowance",
    "StubEndpoint": "chaos.stubs",
}

__all__ = [
    "ChaosError",
    "ConfigError",
    "ProxyError",
    "StackError",
    "__version__",
    "failpoint",
    *_LAZY,
]

if TYPE_CHECKING:
    from chaos.checks import CHECKS, Verdict, run_checks
    from chaos.checks.allowance import machine_allowance
    from chaos.history import RunHistory, load_history
    from chaos.journal import Event, JournalWriter, read_journal
    from chaos.proxy import ProxyHandle, ProxyServer, ToxiproxyClient, start_proxy_server
    from chaos.runner import RunResult, run_scenario
    from chaos.scenario import Scenario, load_scenario
    from chaos.stack import open_stack
    from chaos.stack.base import Stack, StackConfig
    from chaos.stubs import StubEndpoint


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'chaos' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
