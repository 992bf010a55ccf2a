"""chaos: fault injection and resilience checks for Celery apps on a Redis broker."""

from __future__ import annotations

from chaos.errors import ChaosError, ConfigError, ProxyError, StackError
from chaos.failpoints import failpoint

__version__ = "0.1.0"

__all__ = [
    "ChaosError",
    "ConfigError",
    "ProxyError",
    "StackError",
    "__version__",
    "failpoint",
]
