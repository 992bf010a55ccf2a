"""What every backend does with a ``StackConfig`` before it starts anything.

Both backends validate the same fields, name runs the same way and put run directories in the
same place, so that a scenario's run directory looks the same whatever ran it.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

from chaos.errors import ConfigError, Problem
from chaos.stack.base import StackConfig

POOLS = ("solo", "prefork", "threads")
WORKER_STARTS = ("spawn", "forkserver")


def new_run_id() -> str:
    """A sortable, unique enough run id: start time plus six hex digits."""
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"


def run_dir_for(config: StackConfig, run_id: str) -> Path:
    """The configured run directory, or a fresh one under ``.chaos/runs`` (absolute)."""
    return Path(config.run_dir or Path.cwd() / ".chaos" / "runs" / run_id).resolve()


def validate_config(config: StackConfig) -> None:
    """ConfigError naming each bad field before anything starts."""
    problems = []
    if not Path(config.workdir).is_dir():
        problems.append(Problem("no such directory", field_path="workdir",
                                given=str(config.workdir), expected="the app's directory"))  # fmt: skip
    if config.workers < 0:
        problems.append(Problem("negative worker count", field_path="workers",
                                given=str(config.workers), expected=">= 0"))  # fmt: skip
    if config.pool not in POOLS:
        problems.append(Problem("unknown pool", field_path="pool", given=repr(config.pool),
                                expected=" | ".join(POOLS)))  # fmt: skip
    if config.concurrency < 1:
        problems.append(Problem("concurrency below 1", field_path="concurrency",
                                given=str(config.concurrency), expected=">= 1"))  # fmt: skip
    if config.worker_start not in WORKER_STARTS:
        problems.append(Problem("unknown worker start", field_path="worker_start",
                                given=repr(config.worker_start),
                                expected=" | ".join(WORKER_STARTS)))  # fmt: skip
    try:
        json.dumps(dict(config.celery_settings))
    except (TypeError, ValueError) as exc:
        problems.append(Problem(f"not JSON-serialisable: {exc}", field_path="celery_settings",
                                expected="plain values (numbers, strings, lists, dicts)"))  # fmt: skip
    if problems:
        raise ConfigError(problems)
