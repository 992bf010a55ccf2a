"""Does a failpoint's ``raise:`` name an exception class? Answered before the run.

A ``raise: os.system`` used to pass validation and then make every hit fail inside the suite's own
failpoint code, which the gate read as the app breaking. The rule, chosen so that ``chaos
validate`` never runs the app's code:

- ``builtins.X`` and modules installed outside the app (``redis.exceptions``, ``requests``) are
  imported and the name is looked up: that runs only library code;
- the app's own modules are read with ``ast``, never imported (importing them runs
  ``django.setup()``): the name must be a top-level class with a base class; a class whose bases
  cannot be followed without importing is accepted, a function, a plain class, a submodule or a
  missing name is refused.

A ``BaseException`` that is not an ``Exception`` (``SystemExit``, ``KeyboardInterrupt``,
``GeneratorExit``) is refused too: Celery lets it through the task's trace and it ends the pool
process, which is a different fault (``worker.kill_pool_process``), not "the task raised".
"""

from __future__ import annotations

import ast
import builtins
import importlib
import types
from pathlib import Path

from chaos.scenario import app_source


def exception_path_problem(path: str, workdir: Path) -> str | None:
    """Why ``path`` (``module.Name``) is not an exception class, or None when it is (or may be)."""
    module, _, name = path.rpartition(".")
    source = app_source.module_file(module, workdir)
    if source is not None:
        return _app_problem(path, source, module, name, workdir)
    if module != "builtins" and not app_source.module_exists(module, workdir):
        return f"no module {module!r} to take the exception from"
    try:
        owner = builtins if module == "builtins" else importlib.import_module(module)
    except Exception as exc:  # noqa: BLE001 - a library that fails to import names no class
        return f"the module {module!r} cannot be imported to find it ({type(exc).__name__}: {exc})"
    if not hasattr(owner, name):
        if module == "builtins":
            return "no such built-in exception"
        return f"{module} has no {name!r}"
    return _not_an_exception(path, getattr(owner, name))


def process_ending_problem(path: str, found: type[BaseException]) -> str | None:
    """Why an exception class that is not an ``Exception`` cannot model a task that raised."""
    if issubclass(found, Exception):
        return None
    return (
        f"{path} is a BaseException but not an Exception: Celery does not catch it, it ends the "
        "pool process; to kill a pool process use the fault worker.kill_pool_process"
    )


def _not_an_exception(path: str, found: object) -> str | None:
    if isinstance(found, type) and issubclass(found, BaseException):
        return process_ending_problem(path, found)
    if isinstance(found, types.ModuleType):
        return f"{path} is a module, not an exception class"
    if isinstance(found, type):
        return f"{path} is a class but not an exception (not a BaseException subclass)"
    if callable(found):
        return f"{path} is a function, not an exception class"
    return f"{path} is a {type(found).__name__} value, not an exception class"


def _app_problem(path: str, source: Path, module: str, name: str, workdir: Path) -> str | None:
    if app_source.module_file(f"{module}.{name}", workdir) is not None:
        return f"{path} is a module, not an exception class"
    try:
        tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None  # unreadable here; the worker's import will say why
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            if not node.bases:
                return f"{path} is a class but not an exception (it has no base class)"
            return _app_base_problem(path, node, _bound_names(tree))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return f"{path} is a function, not an exception class"
    bound = _bound_names(tree)
    if name in bound or "*" in bound:
        return None  # imported or assigned: following it would mean running the app's code
    return f"{module} defines no {name!r}"


_PROCESS_ENDING = {
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
    and not issubclass(value, Exception)
}


def _app_base_problem(path: str, node: ast.ClassDef, bound: set[str]) -> str | None:
    """An app class whose bases are all built-in process-ending exceptions is refused; any other
    base is accepted (following it would mean importing the app)."""
    names = [base.id for base in node.bases if isinstance(base, ast.Name)]
    if len(names) != len(node.bases) or not all(n in _PROCESS_ENDING for n in names):
        return None
    if bound & set(names) or "*" in bound:
        return None  # a rebound name is not the built-in one
    return process_ending_problem(path, getattr(builtins, names[0]))


def _bound_names(tree: ast.Module) -> set[str]:
    """Names a module binds other than by a top-level def/class (imports, assignments), looked
    for anywhere in it: an import under try: or if: still binds, so this errs towards accepting."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if any(alias.name == "*" for alias in node.names):
                names.add("*")
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and isinstance(
            node.target, ast.Name
        ):
            names.add(node.target.id)
    return names
