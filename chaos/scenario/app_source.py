"""Find an app's modules, tasks and functions by reading its source, never importing it.

``chaos validate`` must not start anything, and importing a Django project's task module would
run ``django.setup()`` and its import-time side effects. Reading the files with ``ast`` answers
"does shop.tasks define send_invoice_email?" in a millisecond.

Task names follow Celery: ``name=`` on ``@app.task(...)``/``@shared_task(...)`` (or a class-based
task's ``name`` attribute) when given, else the defining module's path and the function's name.
What the sources cannot settle (a name built at run time, a task registered from another module)
is reported as unproven, never guessed either way.
"""

from __future__ import annotations

import ast
import importlib.util
import os
from dataclasses import dataclass, field
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


class TaskNameWarning(UserWarning):
    """A workload's task name that reading the app's sources can neither confirm nor refute."""


#: Folders never read for tasks: not the app's code, or not importable as a module path.
_SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", "site-packages", "venv", "env", "build",
                           "dist"})  # fmt: skip
#: Reading stops after this many files; a bigger tree makes every miss unproven, never an error.
MAX_SOURCE_FILES = 3000


@dataclass(frozen=True)
class TaskDefinition:
    """One task the sources define: the name it registers under (None when built at run time),
    the module and function (or class) it is defined as, and whether ``name`` was explicit."""

    name: str | None
    module: str
    function: str
    line: int
    explicit: bool
    registered: bool = True  # False: a class-based task no ``register_task`` call names


@dataclass
class AppTasks:
    """Everything the app's sources say about task names."""

    definitions: list[TaskDefinition] = field(default_factory=list)
    #: Registrations whose name the sources cannot tell ("module:line what").
    unnamed: list[str] = field(default_factory=list)
    #: Functions decorated by something that is not recognisably a task decorator: module.name.
    maybe_tasks: set[str] = field(default_factory=set)
    #: The app overrides ``gen_task_name``: default names are not Celery's.
    custom_naming: bool = False
    truncated: bool = False

    def names(self) -> set[str]:
        return {d.name for d in self.definitions if d.name is not None}


@dataclass(frozen=True)
class TaskLookup:
    """What the sources say about one workload ``task:``.

    ``status``: ``found``; ``renamed`` (the module path names a task registered under
    ``registered_as``: Celery would reject the path); ``unproven`` (``reason`` says why: a
    warning); ``unknown`` (nothing registers it); ``no_module`` (its module path is nowhere)."""

    status: str
    candidates: tuple[str, ...] = ()
    reason: str = ""
    registered_as: str | None = None


def _is_task_factory(node: ast.expr) -> bool:
    """``shared_task``, ``<anything>.task``, ``<anything>.shared_task``."""
    if isinstance(node, ast.Name):
        return node.id == "shared_task"
    return isinstance(node, ast.Attribute) and node.attr in ("task", "shared_task")


def _string_constants(tree: ast.Module) -> dict[str, str]:
    """Module-level ``NAME = "text"``: a ``name=NAME`` is as literal as ``name="text"``."""
    constants = {}
    for node in tree.body:
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)):  # fmt: skip
            for target in node.targets:
                if isinstance(target, ast.Name):
                    constants[target.id] = node.value.value
    return constants


_DYNAMIC = object()  # a name given but not readable from the source


def _literal(node: ast.expr, constants: dict[str, str]) -> str | object:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name) and node.id in constants:
        return constants[node.id]
    return _DYNAMIC


def _name_option(call: ast.Call, constants: dict[str, str]) -> str | object | None:
    """The ``name=`` of a task factory call: a string, _DYNAMIC, or None when not given."""
    for keyword in call.keywords:
        if keyword.arg == "name":
            return _literal(keyword.value, constants)
        if keyword.arg is None:  # **options may carry a name
            return _DYNAMIC
    return None


def _class_task(node: ast.ClassDef, constants: dict[str, str]) -> tuple[bool, str | object | None]:
    """(is a concrete Task subclass, its ``name`` attribute) for a class definition."""
    bases = [b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases]
    if "Task" not in bases:
        return False, None
    name: str | object | None = None
    for statement in node.body:
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                if isinstance(target, ast.Name) and target.id == "abstract":
                    if isinstance(statement.value, ast.Constant) and statement.value.value:
                        return False, None
                if isinstance(target, ast.Name) and target.id == "name":
                    name = _literal(statement.value, constants)
    return True, name


@dataclass
class _FileTasks:
    definitions: list[TaskDefinition] = field(default_factory=list)
    unnamed: list[str] = field(default_factory=list)
    maybe_tasks: set[str] = field(default_factory=set)
    registered_classes: set[str] = field(default_factory=set)
    custom_naming: bool = False


@lru_cache(maxsize=1024)
def _file_tasks(path: Path, module: str, mtime_ns: int) -> _FileTasks:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    constants = _string_constants(tree)
    found = _FileTasks()
    decorators: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if node.name == "gen_task_name":
                found.custom_naming = True
            decorators.update(id(d) for d in node.decorator_list)
            decorators.update(id(d.func) for d in node.decorator_list if isinstance(d, ast.Call))
            task_decorators = [d for d in node.decorator_list
                               if _is_task_factory(d.func if isinstance(d, ast.Call) else d)]
            if not task_decorators:
                if node.decorator_list:
                    found.maybe_tasks.add(f"{module}.{node.name}")
                continue
            decorator = task_decorators[0]
            given = _name_option(decorator, constants) if isinstance(decorator, ast.Call) else None
            found.definitions.append(TaskDefinition(
                name=f"{module}.{node.name}" if given is None else
                (None if given is _DYNAMIC else str(given)),
                module=module, function=node.name, line=node.lineno, explicit=given is not None,
            ))  # fmt: skip
        elif isinstance(node, ast.ClassDef):
            is_task, given = _class_task(node, constants)
            if is_task:
                found.definitions.append(TaskDefinition(
                    name=f"{module}.{node.name}" if given is None else
                    (None if given is _DYNAMIC else str(given)),
                    module=module, function=node.name, line=node.lineno,
                    explicit=given is not None, registered=False,
                ))  # fmt: skip
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or id(node) in decorators:
            continue
        callee = node.func
        if isinstance(callee, ast.Attribute) and callee.attr == "register_task" and node.args:
            registered = node.args[0]
            if isinstance(registered, ast.Call):
                registered = registered.func
            if isinstance(registered, ast.Name):
                found.registered_classes.add(registered.id)
            else:
                found.unnamed.append(f"{module}:{node.lineno} register_task(...)")
        elif isinstance(callee, ast.Call) and _is_task_factory(callee.func):
            # app.task(name=...)(function): registered here, defined wherever the function is.
            given = _name_option(callee, constants)
            if isinstance(given, str):
                function = getattr(node.args[0], "id", "?") if node.args else "?"
                found.definitions.append(TaskDefinition(given, module, function, node.lineno, True))
            else:
                found.unnamed.append(f"{module}:{node.lineno} a task factory's call")
        elif _is_task_factory(callee) and node.args and not isinstance(node.args[0], ast.Constant):
            found.unnamed.append(f"{module}:{node.lineno} {ast.unparse(callee)}(...) on a function")
    return found


def _source_files(workdir: Path) -> tuple[list[tuple[Path, str]], bool]:
    """Every importable ``.py`` file under ``workdir`` with its module path; True if cut short."""
    files: list[tuple[Path, str]] = []
    for folder, dirs, names in os.walk(workdir):
        dirs[:] = sorted(d for d in dirs if d.isidentifier() and d not in _SKIPPED_DIRS)
        package = Path(folder).relative_to(workdir).parts
        for name in sorted(names):
            stem = name[:-3]
            if not name.endswith(".py") or not stem.isidentifier():
                continue
            parts = package if stem == "__init__" else (*package, stem)
            if parts:
                files.append((Path(folder) / name, ".".join(parts)))
            if len(files) >= MAX_SOURCE_FILES:
                return files, True
    return files, False


def app_tasks(workdir: Path) -> AppTasks:
    """What every module under ``workdir`` registers, read without importing anything."""
    tasks = AppTasks()
    files, tasks.truncated = _source_files(workdir)
    registered_classes: set[str] = set()
    for path, module in files:
        try:
            found = _file_tasks(path, module, path.stat().st_mtime_ns)
        except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
            tasks.unnamed.append(f"{module} (unreadable)")
            continue
        tasks.definitions += found.definitions
        tasks.unnamed += [f"{module}:{d.line} {d.function}, its name built at run time"
                          for d in found.definitions if d.name is None]  # fmt: skip
        tasks.unnamed += found.unnamed
        tasks.maybe_tasks |= found.maybe_tasks
        tasks.custom_naming |= found.custom_naming
        registered_classes |= found.registered_classes
    tasks.definitions = [
        d if d.registered or d.function not in registered_classes else
        TaskDefinition(d.name, d.module, d.function, d.line, d.explicit)
        for d in tasks.definitions
    ]  # fmt: skip
    return tasks


def lookup_task(task: str, workdir: Path) -> TaskLookup:
    """Whether a worker of the app under ``workdir`` would know the task name ``task``."""
    tasks = app_tasks(workdir)
    names = tasks.names()
    candidates = tuple(sorted(names))
    exact = [d for d in tasks.definitions if d.name == task]
    if exact:
        if any(d.registered and (d.explicit or not tasks.custom_naming) for d in exact):
            return TaskLookup("found", candidates)
        if tasks.custom_naming:
            reason = "the app overrides gen_task_name, so default task names are its own"
        else:
            reason = (f"class-based task {exact[0].module}.{exact[0].function}: no "
                      "app.register_task() names it in the app's sources")  # fmt: skip
        return TaskLookup("unproven", candidates, reason)
    module, _, function = task.rpartition(".")
    defined_here = [d for d in tasks.definitions if (d.module, d.function) == (module, function)]
    for definition in defined_here:
        if definition.name is not None:
            return TaskLookup("renamed", candidates, registered_as=definition.name)
    if defined_here:
        return TaskLookup("unproven", candidates,
                          f"{task} registers under a name built at run time")
    if task in tasks.maybe_tasks:
        return TaskLookup("unproven", candidates,
                          f"{task} is decorated by something that is not a Celery task decorator "
                          "the sources show; it may register under another name")  # fmt: skip
    if tasks.unnamed or tasks.truncated or tasks.custom_naming:
        where = ", ".join(tasks.unnamed[:3]) or "the app's sources (too many files to read)"
        return TaskLookup("unproven", candidates,
                          f"not among the names the sources give, but some are not readable "
                          f"from them ({where})")  # fmt: skip
    package = module.split(".")[0]
    if package and module_file(package, workdir) is None and module_exists(package, workdir):
        return TaskLookup("unproven", candidates,
                          f"{package} is installed, not part of the app: its tasks are not read")
    if module and module_file(module, workdir) is None:
        return TaskLookup("no_module", candidates)
    return TaskLookup("unknown", candidates)
