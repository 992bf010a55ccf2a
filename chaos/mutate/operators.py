"""Celery-policy mutants of a project's sources: each one a promise a task makes, broken once.

Generic mutation tools (mutmut, cosmic-ray) flip every operator and constant: thousands of
mutants, each costing a stack run, nearly none about what a resilience gate promises. These
operators target what a Celery task declares and what a view does with it, so each mutant names
the promise it breaks ("risky_task declares max_retries=2 (was 3)"):

- ``max_retries``: the declared value -1 and +1;
- ``countdown`` / ``default_retry_delay``: x0.1 and x10 (in the decorator, in ``self.retry(...)``
  or ``retry_kwargs``);
- ``bind``: removed from a bound task;
- ``retry_throw``: ``self.retry(...)`` given ``throw=False`` (the retry no longer stops the task;
  not planted in ``raise self.retry(...)``, which raises what the call returns: equivalent);
- ``swallow``: the body of the ``except`` around ``self.retry`` replaced by ``pass``;
- ``acks_late`` / ``reject_on_worker_lost``: flipped (acks_late added as True where the task does
  not say; reject_on_worker_lost only where acks_late is on, since alone it changes nothing);
- ``autoretry_for``: emptied; ``retry_backoff``: removed (False) or capped
  (``retry_backoff_max=1``);
- ``delay``: a ``.delay(...)``/``.apply_async(...)`` statement in a view removed.

Sources are read with ``ast``; a mutant is an exact span of the file and its replacement text,
applied to a copy of the project (``chaos.mutate.run``), never to the user's tree.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Directories never scanned (virtualenvs, caches, the suite's own run files).
SKIP_DIRS = {".venv", "venv", "__pycache__", ".chaos", ".git", "node_modules", "migrations"}


@dataclass(frozen=True)
class Mutant:
    """One change: ``file``'s text from (line, col) to (end_line, end_col) becomes
    ``replacement``."""

    id: str
    operator: str
    task: str
    promise: str
    file: str
    line: int
    col: int
    end_line: int
    end_col: int
    replacement: str

    def apply(self, text: str) -> str:
        """``text`` (the file's source) with this mutant planted."""
        lines = text.splitlines(keepends=True)
        offsets = [0]
        for line in lines:
            offsets.append(offsets[-1] + len(line))
        start = offsets[self.line - 1] + _char_col(lines[self.line - 1], self.col)
        end = offsets[self.end_line - 1] + _char_col(lines[self.end_line - 1], self.end_col)
        return text[:start] + self.replacement + text[end:]


def _char_col(line: str, byte_col: int) -> int:
    """ast's columns count UTF-8 bytes; slicing needs characters."""
    return len(line.encode()[:byte_col].decode(errors="replace"))


def _is_task_decorator(node: ast.expr) -> bool:
    target = node.func if isinstance(node, ast.Call) else node
    name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
    return name in ("shared_task", "task")


def _number(node: ast.expr) -> float | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        if not isinstance(node.value, bool):
            return float(node.value)
    return None


def _format(value: float, like: ast.Constant) -> str:
    if isinstance(like.value, int):
        return str(max(int(round(value)), 0))
    return repr(round(value, 3))


def _after_arguments(call: ast.Call) -> tuple[ast.AST, str]:
    """An empty span just after ``call``'s last argument (before any trailing comma), and the
    separator a new keyword needs there."""
    arguments = [*call.args, *(k.value for k in call.keywords)]
    if arguments:
        last = max(arguments, key=lambda n: (n.end_lineno, n.end_col_offset))
        line, col, comma = last.end_lineno, last.end_col_offset, ", "
    else:
        line, col, comma = call.end_lineno, (call.end_col_offset or 1) - 1, ""
    return ast.Constant(value=None, lineno=line, col_offset=col, end_lineno=line,
                        end_col_offset=col), comma  # fmt: skip


class _Finder:
    def __init__(self, path: Path, root: Path, text: str) -> None:
        self.file = str(path.relative_to(root))
        self.text = text
        self.mutants: list[Mutant] = []

    def add(self, operator: str, task: str, promise: str, node: ast.AST, replacement: str) -> None:
        same = sum(1 for m in self.mutants if m.task == task and m.operator == operator)
        where: Any = node
        self.mutants.append(Mutant(
            id=f"{task.replace(' ', '-')}/{operator}/{same + 1}", operator=operator, task=task,
            promise=promise, file=self.file, line=where.lineno, col=where.col_offset,
            end_line=where.end_lineno, end_col=where.end_col_offset, replacement=replacement,
        ))  # fmt: skip

    def source(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.text, node) or ""

    def scale(self, operator: str, task: str, where: str, keyword: ast.keyword) -> None:
        value = _number(keyword.value)
        if value is None or not isinstance(keyword.value, ast.Constant):
            return
        for factor in (0.1, 10):
            new = _format(value * factor, keyword.value)
            self.add(operator, task, f"{task}: {where} {keyword.arg}={new} (was "
                     f"{self.source(keyword.value)})", keyword.value, new)  # fmt: skip

    def decorator(self, task: str, call: ast.Call) -> None:
        given = {k.arg: k for k in call.keywords if k.arg}
        for name, keyword in given.items():
            value = keyword.value
            numeric = isinstance(value, ast.Constant) and _number(value) is not None
            if name == "max_retries" and numeric and isinstance(value, ast.Constant):
                for delta in (-1, 1):
                    new = str(int(value.value) + delta)
                    self.add("max_retries", task, f"{task} declares max_retries={new} "
                             f"(was {value.value})", value, new)  # fmt: skip
            elif name == "default_retry_delay":
                self.scale("countdown", task, "declares", keyword)
            elif name == "bind" and isinstance(value, ast.Constant) and value.value is True:
                self.add("bind", task, f"{task}: bind=True removed", value, "False")
            elif name in ("acks_late", "reject_on_worker_lost") and isinstance(value, ast.Constant):
                flipped = not bool(value.value)
                self.add(name, task, f"{task} declares {name}={flipped}", value, str(flipped))
            elif name == "autoretry_for":
                self.add("autoretry_for", task, f"{task}: autoretry_for emptied", value, "()")
            elif name == "retry_backoff":
                self.add("retry_backoff", task, f"{task}: retry_backoff removed", value, "False")
            elif name == "retry_backoff_max":
                self.add("retry_backoff", task, f"{task}: retry_backoff_max capped at 1",
                         value, "1")  # fmt: skip
            elif name == "retry_kwargs" and isinstance(value, ast.Dict):
                for key, item in zip(value.keys, value.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value == "countdown":
                        countdown = ast.keyword("countdown", item)
                        self.scale("countdown", task, "retry_kwargs", countdown)
        acks_late = isinstance(given.get("acks_late"), ast.keyword) and getattr(
            given["acks_late"].value, "value", None) is True  # fmt: skip
        for name in ("acks_late", "reject_on_worker_lost"):
            # reject_on_worker_lost means nothing without acks_late: adding it is equivalent.
            if name not in given and (name == "acks_late" or acks_late):
                anchor, comma = _after_arguments(call)
                self.add(name, task, f"{task} declares {name}=True (it did not say)", anchor,
                         f"{comma}{name}=True")  # fmt: skip

    def bare(self, task: str, decorator: ast.expr) -> None:
        """``@shared_task`` without arguments: what it does not say can still be flipped."""
        self.add("acks_late", task, f"{task} declares acks_late=True (it did not say)", decorator,
                 f"{self.source(decorator)}(acks_late=True)")  # fmt: skip

    def body(self, task: str, function: ast.FunctionDef) -> None:
        # ``raise self.retry(..., throw=False)`` raises the Retry it returns: equivalent, skipped.
        raised = {id(n.exc) for n in ast.walk(function) if isinstance(n, ast.Raise) and n.exc}
        for node in ast.walk(function):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr != "retry":
                    continue
                for keyword in node.keywords:
                    if keyword.arg == "countdown":
                        self.scale("countdown", task, "self.retry(...)", keyword)
                if id(node) not in raised and not any(k.arg == "throw" for k in node.keywords):
                    anchor, comma = _after_arguments(node)
                    self.add("retry_throw", task, f"{task}: self.retry(..., throw=False)",
                             anchor, f"{comma}throw=False")  # fmt: skip
            if isinstance(node, ast.ExceptHandler) and any(
                isinstance(n, ast.Attribute) and n.attr == "retry" for n in ast.walk(node)
            ):
                first, last = node.body[0], node.body[-1]
                span = ast.Constant(value=None, lineno=first.lineno,
                                    col_offset=first.col_offset, end_lineno=last.end_lineno,
                                    end_col_offset=last.end_col_offset)  # fmt: skip
                self.add("swallow", task, f"{task}: the exception is swallowed (no retry)",
                         span, "pass")  # fmt: skip

    def views(self, tree: ast.Module) -> None:
        for function in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
            for node in ast.walk(function):
                if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
                    continue
                called = node.value.func
                if isinstance(called, ast.Attribute) and called.attr in ("delay", "apply_async"):
                    what = self.source(called.value)
                    self.add("delay", f"view {function.name}", f"view {function.name} no longer "
                             f"sends {what}", node, "pass")  # fmt: skip


def find_mutants(root: Path) -> list[Mutant]:
    """Every mutant of the project under ``root``, in file and line order."""
    mutants: list[Mutant] = []
    for path in sorted(root.rglob("*.py")):
        if SKIP_DIRS & set(path.relative_to(root).parts[:-1]):
            continue
        text = path.read_text(errors="replace")
        if "task" not in text and "delay" not in text and "apply_async" not in text:
            continue
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        finder = _Finder(path, root, text)
        for function in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
            for decorator in function.decorator_list:
                if _is_task_decorator(decorator):
                    if isinstance(decorator, ast.Call):
                        finder.decorator(function.name, decorator)
                    else:
                        finder.bare(function.name, decorator)
                    finder.body(function.name, function)
        if path.name == "views.py":
            finder.views(tree)
        mutants += finder.mutants
    return mutants
