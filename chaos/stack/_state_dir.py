"""The machine-wide state directory every backend shares (run registry, template databases)."""

from __future__ import annotations

import os
from pathlib import Path

ENV_STATE_DIR = "CHAOS_STATE_DIR"


def state_dir() -> Path:
    """Where state shared by every run on the machine lives (``$CHAOS_STATE_DIR`` or
    ``~/.cache/celery-chaos``): the registry of live runs, the migrated template databases."""
    configured = os.environ.get(ENV_STATE_DIR)
    return Path(configured) if configured else Path.home() / ".cache" / "celery-chaos"
