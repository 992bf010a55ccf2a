"""What one worker is started as: pool, concurrency, queues, and Celery's optional steps.

A stack's config gives the shape every worker has (``StackConfig.pool``, ``mingle``, ...) and, in
``per_worker``, what one named worker does differently. Both backends start a worker from its
resolved shape through the one launcher command line, so the two cannot disagree about it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from chaos.stack.base import StackConfig


@dataclass(frozen=True)
class WorkerShape:
    """One worker's start options, as ``celery worker`` names them."""

    pool: str = "prefork"
    concurrency: int = 1
    queues: tuple[str, ...] | None = None
    """``-Q``; None consumes what Celery's defaults select (``task_default_queue``)."""
    mingle: bool = True
    gossip: bool = True
    heartbeat: bool = True
    prefetch_multiplier: int | None = None
    """``--prefetch-multiplier``; None: the app's own ``worker_prefetch_multiplier``."""
    disable_prefetch: bool | None = None
    """``--disable-prefetch`` (celery 5.6+, Redis): take a message only with a pool slot free;
    None: the app's own ``worker_disable_prefetch``."""

    def launcher_options(self) -> list[str]:
        """The launcher's flags for this shape (``celery worker``'s own spellings)."""
        options = ["--pool", self.pool, "--concurrency", str(self.concurrency)]
        if self.queues:
            options += ["--queues", ",".join(self.queues)]
        for step in ("mingle", "gossip", "heartbeat"):
            if not getattr(self, step):
                options.append(f"--without-{step}")
        if self.prefetch_multiplier is not None:
            options += ["--prefetch-multiplier", str(self.prefetch_multiplier)]
        if self.disable_prefetch is not None:
            flag = "--disable-prefetch" if self.disable_prefetch else "--no-disable-prefetch"
            options.append(flag)
        return options


SHAPE_FIELDS = tuple(field.name for field in fields(WorkerShape))


def worker_shape(config: StackConfig, name: str) -> WorkerShape:
    """The shape of worker ``name``: the config's, with its ``per_worker`` entry over it."""
    shape = WorkerShape(
        pool=config.pool,
        concurrency=config.concurrency,
        queues=tuple(config.queues) if config.queues is not None else None,
        mingle=config.mingle,
        gossip=config.gossip,
        heartbeat=config.heartbeat,
        prefetch_multiplier=config.prefetch_multiplier,
        disable_prefetch=config.disable_prefetch,
    )
    overrides: Mapping[str, Any] = (config.per_worker or {}).get(name) or {}
    given = {key: value for key, value in overrides.items() if value is not None}
    if given.get("queues") is not None:
        given["queues"] = tuple(given["queues"])
    return replace(shape, **given)
