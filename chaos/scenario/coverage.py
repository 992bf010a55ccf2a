"""Which of the app's tasks a library of scenarios runs, read from sources only.

A task no scenario runs is a promise nobody checks (issue 15: ``notify_warehouse``'s backoff went
unnoticed). The tasks a scenario runs are those its workload names (``path: task``), those the
app's view behind a ``naive``/``durable`` path sends, and, transitively, those a run task's own
body sends (a chain, a follow-up ``.delay()``). Sending is read with ``ast``: ``t.delay(...)``,
``t.apply_async(...)``, ``t.s(...)``/``si``/``signature`` on a task function, or a string that is a
task's registered name (``send_task("name")``, an outbox row). Arming a failpoint runs nothing, so
failpoints do not count. What cannot be read (a view not found) is said, never guessed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from chaos.scenario import app_source
from chaos.scenario.model import Scenario
from chaos.workload import VIEW_URLS

_SEND_METHODS = frozenset({"delay", "apply_async", "s", "si", "signature"})
_ROUTE_FUNCTIONS = frozenset({"path", "re_path", "url"})


@dataclass
class _AppIndex:
    """The app's task names, its top-level functions by name and its URL routes."""

    tasks: app_source.AppTasks
    functions: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]] = field(default_factory=dict)
    routes: dict[str, str] = field(default_factory=dict)  # route -> view function's name

    def task_by_function(self) -> dict[str, set[str]]:
        names: dict[str, set[str]] = {}
        for definition in self.tasks.definitions:
            if definition.name is not None:
                names.setdefault(definition.function, set()).add(definition.name)
        return names


def _index(workdir: Path) -> _AppIndex:
    index = _AppIndex(app_source.app_tasks(workdir))
    files, _ = app_source._source_files(workdir)
    for path, _module in files:
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                index.functions.setdefault(node.name, []).append(node)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", None) in _ROUTE_FUNCTIONS
                    and len(node.args) >= 2 and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)):  # fmt: skip
                view = node.args[1]
                name = view.attr if isinstance(view, ast.Attribute) else getattr(view, "id", None)
                if name:
                    index.routes[node.args[0].value] = name
    return index


def _sent_by(nodes: Iterable[ast.AST], index: _AppIndex) -> set[str]:
    """The task names the code under ``nodes`` sends."""
    by_function = index.task_by_function()
    registered = index.tasks.names()
    sent: set[str] = set()
    for root in nodes:
        for node in ast.walk(root):
            if isinstance(node, ast.Constant) and node.value in registered:
                sent.add(node.value)
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in _SEND_METHODS):  # fmt: skip
                target = node.func.value
                name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
                sent |= by_function.get(name, set())
    return sent


def _view_for(url: str, index: _AppIndex) -> str | None:
    """The view function routed at ``url``: the longest route its path ends with."""
    wanted = url.strip("/")
    matching = [route for route in index.routes if route.strip("/") and
                wanted.endswith(route.strip("/").split("<")[0].rstrip("/"))]  # fmt: skip
    exact = [route for route in matching if route.strip("/") == wanted]
    chosen = exact or sorted(matching, key=len, reverse=True)
    return index.routes[chosen[0]] if chosen else None


@dataclass
class ScenarioTasks:
    """The tasks one scenario runs, and what could not be read."""

    scenario: str
    tasks: set[str] = field(default_factory=set)
    unreadable: list[str] = field(default_factory=list)


def tasks_run_by(scenario: Scenario, workdir: Path, index: _AppIndex | None = None) -> ScenarioTasks:
    """What ``scenario`` runs of the app under ``workdir`` (see the module's docstring)."""
    index = index or _index(workdir)
    found = ScenarioTasks(scenario.name)
    for stream in scenario.workload:
        if stream.path == "task" and stream.task:
            found.tasks.add(stream.task)
            continue
        view = _view_for(VIEW_URLS[stream.path], index)
        if view is None or view not in index.functions:
            found.unreadable.append(f"path: {stream.path} ({VIEW_URLS[stream.path]}): no view "
                                    "routed there in the app's sources")  # fmt: skip
            continue
        found.tasks |= _sent_by(index.functions[view], index)
    by_name = {d.name: d.function for d in index.tasks.definitions if d.name}
    frontier = set(found.tasks)
    while frontier:  # follow-up sends from the bodies of the tasks that run
        bodies = [node for name in frontier for node in index.functions.get(by_name.get(name, ""), [])]
        frontier = _sent_by(bodies, index) - found.tasks
        found.tasks |= frontier
    return found


@dataclass
class Coverage:
    """The app's tasks against what a set of scenarios runs."""

    workdir: Path
    app_tasks: set[str]
    run_by: dict[str, list[str]]  # task -> the scenarios that run it
    unreadable: list[str] = field(default_factory=list)

    @property
    def not_run(self) -> list[str]:
        return sorted(self.app_tasks - set(self.run_by))


def coverage(scenarios: Iterable[Scenario], workdir: Path) -> Coverage:
    """Which of the tasks defined under ``workdir`` the ``scenarios`` (all of that app) run."""
    index = _index(workdir)
    result = Coverage(workdir, index.tasks.names(), {})
    for scenario in scenarios:
        found = tasks_run_by(scenario, workdir, index)
        for task in sorted(found.tasks):
            result.run_by.setdefault(task, []).append(scenario.name)
        result.unreadable += [f"{scenario.name}: {note}" for note in found.unreadable]
    return result
