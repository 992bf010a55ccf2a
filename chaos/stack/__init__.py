"""Stacks: Redis, the fault proxy and Celery workers for one run, behind one interface.

``open_stack(config, backend)`` returns an unstarted stack (a context manager). Backends are
looked up lazily by name, so the docker backend and its dependencies are imported only when asked.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from chaos.errors import ConfigError, Problem
from chaos.stack.base import BrokerHandle, Stack, StackConfig, WorkerHandle

if TYPE_CHECKING:
    from chaos.stack.local import LocalStack

#: backend name -> "module:class"; a backend registers itself here by name, imported on demand.
BACKENDS: dict[str, str] = {
    "local": "chaos.stack.local:LocalStack",
    "docker": "chaos.stack.docker:DockerStack",
}


def register_backend(name: str, target: str) -> None:
    """Make ``open_stack(config, backend=name)`` build ``target`` ("module:class")."""
    BACKENDS[name] = target


def open_stack(config: StackConfig | None = None, backend: str = "local") -> Stack:
    """An unstarted stack of the given backend; use it as a context manager."""
    target = BACKENDS.get(backend)
    if target is None:
        raise ConfigError(
            [Problem("unknown stack backend", field_path="backend", given=repr(backend),
                     expected=" | ".join(sorted(BACKENDS)))]
        )  # fmt: skip
    module_name, class_name = target.split(":")
    stack_class = getattr(importlib.import_module(module_name), class_name)
    return stack_class(config or StackConfig())


def __getattr__(name: str) -> Any:
    if name == "LocalStack":
        from chaos.stack.local import LocalStack

        return LocalStack
    raise AttributeError(name)


__all__ = [
    "BACKENDS",
    "BrokerHandle",
    "LocalStack",
    "Stack",
    "StackConfig",
    "WorkerHandle",
    "open_stack",
    "register_backend",
]
