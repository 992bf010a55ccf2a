"""A Celery project read without importing it: its app module, settings, and each task's policy.

``chaos init`` writes a starter library from what the sources *declare*: the Celery app (a module
that calls ``Celery(...)``), ``DJANGO_SETTINGS_MODULE`` from manage.py, and for every task the
name Celery registers it under (``chaos.scenario.app_source``) with its decorator's policy
(``bind``, ``max_retries``, ``default_retry_delay``, ``autoretry_for``, backoff, ``acks_late``,
``reject_on_worker_lost``, time and rate limits, ``queue``) and the countdowns its ``self.retry``
calls pass. A value that is not a literal, or an exception it cannot resolve to a dotted name, is
listed under ``unread``: the writer says so and never guesses.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos.scenario.app_source import app_tasks, module_file
from chaos.scenario.model import settings_from_manage_py
from chaos.starter.triggers import Target, Trigger, retry_trigger, slow_target

#: Decorator options the starter reads (and pins where ``retries_as_declared`` can).
POLICY_KEYS = (
    "bind", "max_retries", "default_retry_delay", "autoretry_for", "retry_backoff",
    "retry_backoff_max", "retry_jitter", "retry_kwargs", "acks_late", "reject_on_worker_lost",
    "time_limit", "soft_time_limit", "rate_limit", "queue",
)  # fmt: skip
_SKIP = {".venv", "venv", "__pycache__", ".chaos", ".git", "node_modules", "tests"}


@dataclass
class TaskPolicy:
    """One task as its sources declare it."""

    name: str
    module: str
    function: str
    line: int
    params: list[str]
    """Its positional parameters (``self`` of a bound task left out): what ``--args`` must fill."""
    policy: dict[str, Any] = field(default_factory=dict)
    retry_countdowns: list[float] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)
    trigger: Trigger | None = None
    """Where a failpoint makes the task fail as its retry path expects (a generated ladder)."""
    slow: Target | None = None
    """A call a ``delay:`` failpoint can hold, so that a worker dies mid-task."""

    @property
    def retries(self) -> bool:
        return bool(self.policy.get("autoretry_for")) or bool(self.retry_countdowns) or (
            self.policy.get("bind") is True and "max_retries" in self.policy
        )


@dataclass
class Project:
    root: Path
    app: str | None
    settings: str | None
    tasks: list[TaskPolicy]
    notes: list[str] = field(default_factory=list)


def find_celery_app(root: Path) -> str | None:
    """What ``celery -A`` takes: the module that calls ``Celery(...)`` (its package when the module
    is ``pkg/celery.py``, as Celery finds it)."""
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if _SKIP & set(relative.parts[:-1]):
            continue
        text = path.read_text(errors="replace")
        if "Celery(" not in text:
            continue
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
                 and getattr(n.func, "id", getattr(n.func, "attr", "")) == "Celery"]  # fmt: skip
        if calls:
            parts = list(relative.with_suffix("").parts)
            if parts[-1] in ("celery", "__init__") and len(parts) > 1:
                parts = parts[:-1]
            return ".".join(parts)
    return None


def _imports(tree: ast.Module, module: str) -> dict[str, str]:
    """Local name -> dotted name, from the module's imports (relative ones resolved)."""
    package = module.rpartition(".")[0]
    names: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".") if package else []
                anchor = anchor[: len(anchor) - (node.level - 1)] if node.level > 1 else anchor
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                names[alias.asname or alias.name] = f"{base}.{alias.name}" if base else alias.name
    return names


def _dotted(node: ast.expr, imports: dict[str, str], module: str) -> str | None:
    """``endpoints.EndpointError`` -> ``shop.endpoints.EndpointError``; builtins by their name."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.insert(0, node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    head = node.id
    if head in imports:
        return ".".join([imports[head], *parts])
    if not parts and isinstance(getattr(builtins, head, None), type):
        return f"builtins.{head}"
    return ".".join([module, head, *parts]) if head[:1].isupper() else None


def _value(key: str, node: ast.expr, imports: dict[str, str], module: str) -> Any:
    if key == "autoretry_for":
        items = node.elts if isinstance(node, (ast.Tuple, ast.List)) else [node]
        names = [_dotted(item, imports, module) for item in items]
        if any(name is None for name in names):
            raise ValueError(ast.unparse(node))
        return names
    return ast.literal_eval(node)


def _policy_of(function: ast.FunctionDef, decorator: ast.expr, imports: dict[str, str],
               task: TaskPolicy) -> None:  # fmt: skip
    if isinstance(decorator, ast.Call):
        for keyword in decorator.keywords:
            if keyword.arg not in POLICY_KEYS:
                continue
            try:
                task.policy[keyword.arg] = _value(keyword.arg, keyword.value, imports, task.module)
            except ValueError:
                task.unread.append(f"{keyword.arg}={ast.unparse(keyword.value)} (not a literal)")
    for node in ast.walk(function):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "retry":
            for keyword in node.keywords:
                if keyword.arg == "countdown":
                    try:
                        task.retry_countdowns.append(float(ast.literal_eval(keyword.value)))
                    except (ValueError, TypeError):
                        task.unread.append(f"self.retry(countdown={ast.unparse(keyword.value)})")


def read_project(root: Path) -> Project:
    """The project under ``root`` as its sources declare it."""
    found = app_tasks(root)

    def is_local(name: str) -> bool:
        return module_file(name, root) is not None

    tasks = []
    notes: list[str] = []
    for definition in found.definitions:
        if definition.name is None or not definition.registered:
            notes.append(f"{definition.module}.{definition.function}: a task whose name is built "
                         "at run time or a class-based task: not read")  # fmt: skip
            continue
        path = module_file(definition.module, root)
        if path is None or _SKIP & set(path.relative_to(root).parts[:-1]):
            continue
        tree = ast.parse(path.read_text(errors="replace"))
        imports = _imports(tree, definition.module)
        function = next((n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)
                         and n.name == definition.function), None)  # fmt: skip
        if function is None:
            continue
        decorator = next(d for d in function.decorator_list
                         if getattr(d.func if isinstance(d, ast.Call) else d, "attr",
                                    getattr(d.func if isinstance(d, ast.Call) else d, "id", ""))
                         in ("task", "shared_task"))  # fmt: skip
        params = [a.arg for a in function.args.args]
        task = TaskPolicy(definition.name, definition.module, function.name, function.lineno,
                          params)  # fmt: skip
        _policy_of(function, decorator, imports, task)
        task.trigger = retry_trigger(function, imports, definition.module,
                                     task.policy.get("autoretry_for"), _dotted, is_local)
        task.slow = slow_target(function, imports, definition.module, is_local)
        if task.policy.get("bind") is True and params:
            task.params = params[1:]
        tasks.append(task)
    return Project(root, find_celery_app(root), settings_from_manage_py(root), tasks, notes)
