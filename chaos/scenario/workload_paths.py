"""``path: naive`` and ``path: durable`` drive the reference app's order views and outbox: an app
without them is refused at validation, naming what is missing and what to use instead
(``path: http`` for its own views, ``path: task`` for its tasks). Found from the sources, without
importing the app."""

from __future__ import annotations

from pathlib import Path

from chaos.errors import Problem
from chaos.scenario import app_source
from chaos.scenario.model import Scenario
from chaos.scenario.source import SourceDocument

#: What each path needs: (module, a name it defines, what that is), all of them.
NEEDS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "naive": (("shop.views", "place_order", "the order view POST /orders/"),),
    "durable": (
        ("shop.views", "place_order_durable", "the outbox view POST /orders/durable/"),
        ("shop.outbox", "relay_pending", "the outbox relay"),
        ("shop.models", "OutboxMessage", "the outbox table"),
    ),
}


def _defines(module: str, name: str, workdir: Path) -> bool:
    source = app_source.module_file(module, workdir)
    if source is None:
        return False
    text = source.read_text(encoding="utf-8", errors="replace")
    return f"def {name}(" in text or f"class {name}(" in text or f"class {name}:" in text


def missing_for(path: str, workdir: Path) -> list[str]:
    """What the app lacks for ``path`` (empty when it has everything, or the path needs nothing)."""
    return [what for module, name, what in NEEDS.get(path, ())
            if not _defines(module, name, workdir)]  # fmt: skip


def check_workload_paths(scenario: Scenario, document: SourceDocument,
                         workdir: Path) -> list[Problem]:  # fmt: skip
    if not workdir.is_dir():
        return []  # the app rule says so
    problems = []
    for index, stream in enumerate(scenario.workload):
        missing = missing_for(stream.path, workdir)
        if missing:
            problems.append(document.problem(
                ("workload", index, "path"),
                f"path: {stream.path} drives the reference app's shop (it needs "
                f"{', '.join(missing)}), which the app in {workdir} lacks",
                given=repr(stream.path), expected="http | task",
                hint="path: http sends requests to the app's own views (url:, json:, host:); "
                "path: task publishes one of its tasks",
            ))  # fmt: skip
    return problems
