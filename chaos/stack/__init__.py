"""Stacks: Redis, the fault proxy and Celery workers for one run, behind one interface.

``open_stack(config, backend)`` returns an unstarted stack (a context manager). The layout:
``base`` is the interface every backend implements (the stack and its broker, proxy and worker
handles); ``backends`` is the registry of backends by name; ``local/`` and ``docker/`` are the two
backends; the private modules beside them (``_config``, ``_waiting``, ``_ping``, ``_journal_tail``,
``_django_db``, ``_state_dir``) and ``launch`` (the worker's entry point) are what both share.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chaos.stack.backends import BACKENDS, DEFAULT_BACKEND, backend_class, register_backend
from chaos.stack.base import BrokerHandle, BrokerProxyHandle, Stack, StackConfig, WorkerHandle

if TYPE_CHECKING:
    from chaos.stack.local import LocalStack


def open_stack(config: StackConfig | None = None, backend: str = DEFAULT_BACKEND) -> Stack:
    """An unstarted stack of the given backend; use it as a context manager."""
    return backend_class(backend)(config or StackConfig())


def __getattr__(name: str) -> Any:
    if name == "LocalStack":
        from chaos.stack.local import LocalStack

        return LocalStack
    raise AttributeError(name)


__all__ = [
    "BACKENDS",
    "BrokerHandle",
    "BrokerProxyHandle",
    "LocalStack",
    "Stack",
    "StackConfig",
    "WorkerHandle",
    "open_stack",
    "register_backend",
]
