"""A backend that exists only to show what adding one takes: a ``Stack`` subclass, registered.

It cannot start (there is no cluster); what the tests check is that the CLI, the pytest option and
``open_stack`` find it by name once it is registered, and that its refusal is a StackError.
"""

from __future__ import annotations

from chaos.errors import StackError
from chaos.stack.base import BrokerHandle, BrokerProxyHandle, Stack, StackConfig, WorkerHandle

NAME = "kubernetes"


class ThrowawayStack(Stack):
    """Every handle is missing: the stack never gets past ``start``."""

    def __init__(self, config: StackConfig | None = None) -> None:
        self.config = config or StackConfig()
        self.run_id = "throwaway"
        self._workers = []
        self._journal = None

    def start(self) -> None:
        raise StackError(NAME, "no cluster to deploy to", hint="this backend is a test's stand-in")

    def close(self) -> None:
        pass

    @property
    def broker(self) -> BrokerHandle:
        raise StackError("broker", "not started")

    @property
    def proxy(self) -> BrokerProxyHandle:
        raise StackError("proxy", "not started")

    def _new_worker(self, name: str) -> WorkerHandle:
        raise StackError(name, "not started")

    @property
    def producer_broker_url(self) -> str:
        raise StackError("proxy", "not started")

    @property
    def worker_broker_url(self) -> str:
        raise StackError("proxy", "not started")
