"""Planted bugs in a copy of the reference app, for tests that prove a scenario kills them."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]


def mutant_app(root: Path, relative: str, old: str, new: str) -> Path:
    """A copy of ``app/`` under ``root`` with ``old`` replaced by ``new`` (once) in ``relative``."""
    copy = root / "app"
    shutil.copytree(REPO / "app", copy,
                    ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3*"))  # fmt: skip
    path = copy / relative
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} is not in {relative} exactly once"
    path.write_text(text.replace(old, new))
    return copy


def library_scenario(name: str, workdir: Path | None = None) -> dict[str, Any]:
    """A library scenario as a dict, pointed at ``workdir`` when given."""
    document = yaml.safe_load((REPO / "scenarios" / f"{name}.yaml").read_text())
    if workdir is not None:
        document["app"] = {**document.get("app", {}), "workdir": str(workdir)}
    return document
