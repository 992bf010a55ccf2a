"""Where a failpoint can reach a task: the call its retry handler guards, a call to slow down.

A generated retry ladder must make the task fail the way its own code expects, or it checks
nothing: the exception has to be one the ``except`` around ``self.retry`` catches (or one of
``autoretry_for``), raised from a call inside the guarded block. Read from the AST only:

- a ``failpoint("name")`` call already in the code is used by its name;
- ``module.function(...)`` where ``module`` is imported is patched as ``package.module:function``;
- ``function(...)`` imported with ``from package.module import function`` is patched where the
  task looks it up, ``task_module:function`` (patching the defining module would miss it).

Anything else (methods, ORM calls, local helpers) is not a target: the writer says "no target"
rather than guessing.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass

#: Says whether a dotted module name is the project's own (only its code is patched, never
#: Django's, Celery's or the standard library's).
IsLocal = Callable[[str], bool]


@dataclass(frozen=True)
class Target:
    """A failpoint the scenario can arm: by ``name`` (the code's own) or by ``patch``."""

    name: str | None = None
    patch: str | None = None

    def as_fault(self) -> dict[str, str]:
        return {"name": self.name} if self.name else {"patch": self.patch or ""}

    @property
    def label(self) -> str:
        return f"failpoint {self.name}" if self.name else f"patch {self.patch}"


@dataclass(frozen=True)
class Trigger:
    """A target and the exception that, raised there, makes the task retry."""

    target: Target
    exception: str


def _named_failpoint(call: ast.Call) -> Target | None:
    if getattr(call.func, "id", getattr(call.func, "attr", None)) != "failpoint":
        return None
    if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return Target(name=call.args[0].value)
    return None


def target_of(call: ast.Call, imports: dict[str, str], module: str,
              is_local: IsLocal) -> Target | None:  # fmt: skip
    """The failpoint that intercepts ``call``, or None when it cannot be named from the source."""
    named = _named_failpoint(call)
    if named is not None:
        return named
    func = call.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        owner = imports.get(func.value.id)
        if owner and is_local(owner):  # a module of the project, not a class or an instance
            return Target(patch=f"{owner}:{func.attr}")
        return None
    if isinstance(func, ast.Name) and func.id in imports and func.id[:1].islower():
        defined_in = imports[func.id].rpartition(".")[0]
        if defined_in and is_local(defined_in):
            return Target(patch=f"{module}:{func.id}")
    return None


def _targets_in(nodes: list[ast.stmt], imports: dict[str, str], module: str,
                is_local: IsLocal) -> list[Target]:  # fmt: skip
    """Targets in source order."""
    calls = [n for stmt in nodes for n in ast.walk(stmt) if isinstance(n, ast.Call)]
    calls.sort(key=lambda n: (n.lineno, n.col_offset))
    found = [target_of(call, imports, module, is_local) for call in calls]
    return [t for t in found if t is not None]


def _retries(handler: ast.ExceptHandler) -> bool:
    return any(isinstance(n, ast.Call) and getattr(n.func, "attr", None) == "retry"
               for stmt in handler.body for n in ast.walk(stmt))  # fmt: skip


def retry_trigger(function: ast.FunctionDef, imports: dict[str, str], module: str,
                  autoretry_for: list[str] | None, dotted: Callable[..., str | None],
                  is_local: IsLocal) -> Trigger | None:  # fmt: skip
    """A call the retry path guards, with an exception that path catches; None if there is none.

    ``dotted`` resolves an exception expression to its import path (``reading._dotted``)."""
    for node in ast.walk(function):
        if not isinstance(node, ast.Try):
            continue
        for handler in node.handlers:
            if not _retries(handler):
                continue
            caught = handler.type
            items = caught.elts if isinstance(caught, ast.Tuple) else [caught]
            names = [dotted(item, imports, module) for item in items if item is not None]
            exception = next((n for n in names if n), None) if caught is not None else (
                "builtins.Exception")  # fmt: skip
            targets = _targets_in(node.body, imports, module, is_local)
            if exception and targets:
                return Trigger(targets[0], exception)
    if autoretry_for:
        targets = _targets_in(function.body, imports, module, is_local)
        if targets:
            return Trigger(targets[0], autoretry_for[0])
    return None


def slow_target(function: ast.FunctionDef, imports: dict[str, str], module: str,
                is_local: IsLocal) -> Target | None:  # fmt: skip
    """The first call in the task's body a ``delay:`` failpoint can hold (to kill it mid-task)."""
    targets = _targets_in(function.body, imports, module, is_local)
    return targets[0] if targets else None
