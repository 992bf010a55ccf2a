"""Find an app's modules, tasks and functions by reading its source, never importing it.

``chaos validate`` must not start anything, and importing a Django project's task module would
run ``django.setup()`` and its import-time side effects. Reading the files with ``ast`` answers
"does shop.tasks define send_invoice_email?" in a millisecond.
"""

from __future__ import annotations

import ast
import importlib.util
from functools import lru_cache
from pathlib import Path


def module_file(module: str, workdir: Path) -> Path | None:
    """The source file of ``module`` under ``workdir`` (a package's ``__init__.py``), or None."""
    base = workdir.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def module_exists(module: str, workdir: Path) -> bool:
    """True if ``module`` is under ``workdir`` or installed (found without importing it)."""
    if module_file(module, workdir) is not None:
        return True
    try:
        return importlib.util.find_spec(module.split(".")[0]) is not None
    except (ImportError, ValueError):
        return False


@lru_cache(maxsize=64)
def _top_level_functions(path: Path, mtime_ns: int) -> dict[str, bool]:
    """Name of each top-level function or class in a file -> whether it is decorated."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: dict[str, bool] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names[node.name] = bool(node.decorator_list)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    names[target.id] = False
    return names


def defined_names(module: str, workdir: Path) -> dict[str, bool] | None:
    """Top-level names of ``module``'s source (None if the module is not under ``workdir``)."""
    path = module_file(module, workdir)
    if path is None:
        return None
    try:
        return _top_level_functions(path, path.stat().st_mtime_ns)
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None


def task_names(module: str, workdir: Path) -> list[str] | None:
    """Decorated top-level functions of ``module`` (what ``@shared_task``/``@app.task`` make)."""
    names = defined_names(module, workdir)
    if names is None:
        return None
    return [name for name, decorated in names.items() if decorated]
