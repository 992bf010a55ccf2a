"""Rules that need the whole scenario: names that must exist, faults that must not contradict.

Each rule adds Problems pointing at the file's line and field, so one ``chaos validate`` reports
everything wrong at once.
"""

from __future__ import annotations

import builtins
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chaos.errors import Problem
from chaos.faults import fault_type
from chaos.faults.worker import WORKER_CHOICES
from chaos.scenario import app_source
from chaos.scenario.model import (
    RUN_EVENTS,
    TOXIC_ATTRIBUTES,
    UNTIL_CONDITIONS,
    FailpointFault,
    ProxyToxic,
    Scenario,
)
from chaos.scenario.exception_path import exception_path_problem
from chaos.scenario.source import SourceDocument
from chaos.scenario.suggest import did_you_mean, one_of
from chaos.scenario.workload_paths import check_workload_paths
from chaos.scenario.timing import check_after_cycles, check_starts_before_timeout, static_spans


def app_workdir(scenario: Scenario, scenario_file: Path | None) -> Path:
    """The app's directory: the reference app's unless the scenario names one (relative to it)."""
    from chaos.stack.base import REFERENCE_APP_DIR

    if scenario.app.workdir is None:
        return REFERENCE_APP_DIR
    workdir = Path(scenario.app.workdir)
    if not workdir.is_absolute() and scenario_file is not None:
        workdir = scenario_file.resolve().parent / workdir
    return workdir


def worker_names(count: int) -> list[str]:
    """The stack's names for ``count`` workers."""
    return [f"worker-{index}" for index in range(1, count + 1)]


def check_semantics(scenario: Scenario, document: SourceDocument) -> list[Problem]:
    problems: list[Problem] = []
    for rule in _RULES:
        problems.extend(rule(scenario, document))
    return problems


def _check_app(scenario: Scenario, document: SourceDocument) -> list[Problem]:
    workdir = app_workdir(scenario, document.path)
    if not workdir.is_dir():
        return [
            document.problem(
                ("app", "workdir") if scenario.app.workdir else ("app",),
                "the app's directory does not exist",
                given=str(workdir),
                hint="workdir is relative to the scenario file",
            )
        ]
    problems = []
    if not app_source.module_exists(scenario.app.name, workdir):
        problems.append(
            document.problem(
                ("app", "name"),
                "no such app module",
                given=repr(scenario.app.name),
                expected=f"a module or package under {workdir}",
            )
        )
    settings = scenario.app.settings_for(workdir)
    if settings is not None and not app_source.module_exists(settings, workdir):
        problems.append(
            document.problem(
                ("app", "settings"),
                "no such settings module",
                given=repr(settings),
                expected=f"a module under {workdir}",
            )
        )
    return problems


def _check_tasks(scenario: Scenario, document: SourceDocument) -> list[Problem]:
    """A workload's ``task:`` must be a name the app's workers register (Celery's: ``name=`` or
    module path + function). What the sources cannot settle is a TaskNameWarning, not an error."""
    import dataclasses
    import warnings

    workdir = app_workdir(scenario, document.path)
    problems = []
    for index, stream in enumerate(scenario.workload):
        if stream.task is None:
            continue
        path = ("workload", index, "task")
        found = app_source.lookup_task(stream.task, workdir)
        module, _, name = stream.task.rpartition(".")
        in_module = [c.rpartition(".")[2] for c in found.candidates
                     if c.rpartition(".")[0] == module]  # fmt: skip
        hint = did_you_mean(name, in_module) or did_you_mean(stream.task, found.candidates)
        expected = one_of(found.candidates) if found.candidates else "a task the app defines"
        if found.status == "renamed":
            problems.append(document.problem(
                path, f"{stream.task} is registered under the name {found.registered_as!r} "
                "(name= on its decorator): Celery would refuse the module path as unregistered",
                given=repr(stream.task), expected=repr(found.registered_as),
            ))  # fmt: skip
        elif found.status == "no_module":
            problems.append(document.problem(
                path, f"unknown task: no task registers it and there is no module {module!r} "
                "in the app", given=repr(stream.task), expected=expected, hint=hint,
            ))  # fmt: skip
        elif found.status == "unknown":
            problems.append(document.problem(
                path, f"unknown task: {'no task of ' + module if module else 'no task'} "
                f"registers the name {stream.task!r}",
                given=repr(stream.task), expected=expected, hint=hint,
            ))  # fmt: skip
        elif found.status == "unproven":
            note = document.problem(path, f"cannot confirm the task name: {found.reason}",
                                    given=repr(stream.task), expected=expected, hint=hint)
            where = dataclasses.replace(note, file=None, line=None, column=None)
            warnings.warn_explicit(str(where), app_source.TaskNameWarning,
                                   str(document.path or "<scenario>"), note.line or 0,
                                   module="chaos.scenario", registry={})  # fmt: skip
    return problems


def _check_item_templates(scenario: Scenario, document: SourceDocument) -> list[Problem]:
    """A stream's ``args``/``kwargs`` strings with ``{n}`` are filled per message: any other
    placeholder, or one ``{n}`` cannot fill, is refused at its line before the run starts."""
    from chaos.item_templates import template_problems

    fields = {"args": "args", "kwargs": "kwargs", "url": "url", "json_body": "json",
              "form": "form", "headers": "headers"}  # fmt: skip
    problems = []
    for index, stream in enumerate(scenario.workload):
        for attribute, key in fields.items():
            for path, message in template_problems(getattr(stream, attribute)):
                problems.append(document.problem(("workload", index, key, *path), message,
                                                 expected='a string with at most "{n}"'))  # fmt: skip
    return problems


def _check_celery_settings(scenario: Scenario, document: SourceDocument) -> list[Problem]:
    from celery.app.defaults import DEFAULTS

    problems = []
    for key in scenario.topology.celery:
        if key not in DEFAULTS:
            problems.append(
                document.problem(
                    ("topology", "celery", key),
                    f"unknown Celery setting {key!r}",
                    expected="a lower-case Celery setting such as task_acks_late",
                    hint=did_you_mean(key, DEFAULTS),
                    prefer_key=True,
                )
            )
    return problems


def _check_fault_references(scenario: Scenario, document: SourceDocument) -> list[Problem]:
    problems = []
    ids = scenario.fault_ids()
    seen: dict[str, int] = {}
    for index, fault_id in enumerate(ids):
        if fault_id in seen:
            problems.append(
                document.problem(
                    ("faults", index, "id"),
                    f"fault id {fault_id!r} is already used by faults[{seen[fault_id]}]",
                )
            )
        seen.setdefault(fault_id, index)
    events = list(RUN_EVENTS) + [f"{i}.{end}" for i in ids for end in ("applied", "healed")]
    for index, fault in enumerate(scenario.faults):
        after = fault.after_event
        if after is not None:
            event = after[0]
            if event not in events:
                problems.append(
                    document.problem(
                        ("faults", index, "after"),
                        "unknown event",
                        given=repr(event),
                        expected="a run event ("
                        + ", ".join(RUN_EVENTS)
                        + ") or <fault id>.applied / <fault id>.healed",
                        hint=did_you_mean(event, events),
                    )
                )
            elif event.rsplit(".", 1)[0] == ids[index]:
                problems.append(
                    document.problem(
                        ("faults", index, "after"), "a fault cannot start after itself"
                    )
                )
        if fault.until is not None and fault.until not in UNTIL_CONDITIONS:
            problems.append(
                document.problem(
                    ("faults", index, "until"),
                    "unknown condition",
                    given=repr(fault.until),
                    expected=one_of(UNTIL_CONDITIONS),
                    hint=did_you_mean(fault.until, UNTIL_CONDITIONS),
                )
            )
    return problems


def _check_fault_targets(scenario: Scenario, document: SourceDocument) -> list[Problem]:
    problems = []
    names = worker_names(scenario.topology.workers)
    for index, fault in enumerate(scenario.faults):
        worker = getattr(fault, "worker", None)  # WorkerFault, worker.kill_pool_process
        if isinstance(worker, str) and worker not in (*names, *WORKER_CHOICES):
            problems.append(
                document.problem(
                    ("faults", index, "worker"),
                    "unknown fault target: the topology has no such worker",
                    given=repr(worker),
                    expected=one_of([*names, *WORKER_CHOICES]),
                    hint=did_you_mean(worker, names),
                )
            )
        if isinstance(fault, ProxyToxic):
            problems.extend(_toxic_problems(fault, ("faults", index), document))
        if isinstance(fault, FailpointFault):
            problems.extend(_failpoint_problems(fault, ("faults", index), scenario, document))
    return problems


def _toxic_problems(
    fault: ProxyToxic, path: tuple[str | int, ...], document: SourceDocument
) -> list[Problem]:
    known = TOXIC_ATTRIBUTES.get(fault.toxic)
    if known is None:
        return [
            document.problem(
                (*path, "toxic"),
                "unknown toxic type",
                given=repr(fault.toxic),
                expected=one_of(TOXIC_ATTRIBUTES),
                hint=did_you_mean(fault.toxic, TOXIC_ATTRIBUTES),
            )
        ]
    problems = []
    for name, value in fault.attributes.items():
        where = (*path, "attributes", name)
        if name not in known:
            problems.append(
                document.problem(
                    where,
                    f"unknown attribute {name!r} for the {fault.toxic} toxic",
                    expected=one_of(known),
                    hint=did_you_mean(name, known),
                    prefer_key=True,
                )
            )
        elif known[name] is int and (
            isinstance(value, bool) or not isinstance(value, int) or value < 0
        ):
            problems.append(
                document.problem(
                    where,
                    "a toxic attribute is a whole number, not negative (milliseconds, bytes)",
                    given=repr(value),
                )
            )
        elif not isinstance(value, known[name]):
            problems.append(
                document.problem(
                    where,
                    f"wrong type for {name}",
                    given=repr(value),
                    expected=known[name].__name__,
                )
            )
    return problems


def _failpoint_problems(
    fault: FailpointFault,
    path: tuple[str | int, ...],
    scenario: Scenario,
    document: SourceDocument,
) -> list[Problem]:
    problems = []
    if fault.raise_ is not None:
        why = exception_path_problem(fault.raise_, app_workdir(scenario, document.path))
        if why is not None:
            module, _, name = fault.raise_.rpartition(".")
            builtin_names = _BUILTIN_EXCEPTIONS if module == "builtins" else []
            problems.append(
                document.problem(
                    (*path, "raise"),
                    why,
                    given=repr(fault.raise_),
                    expected="an exception class by import path, e.g. builtins.ConnectionError",
                    hint=did_you_mean(name, builtin_names),
                )
            )
    if fault.patch is not None:
        module, _, function = fault.patch.partition(":")
        workdir = app_workdir(scenario, document.path)
        names = app_source.defined_names(module, workdir)
        if names is None and not app_source.module_exists(module, workdir):
            problems.append(
                document.problem(
                    (*path, "patch"), f"no module {module!r} to patch", given=repr(fault.patch)
                )
            )
        elif names is not None and function.split(".")[0] not in names:
            problems.append(
                document.problem(
                    (*path, "patch"),
                    f"{module} defines no {function.split('.')[0]!r}",
                    given=repr(fault.patch),
                    hint=did_you_mean(function.split(".")[0], names),
                )
            )
    return problems


_BUILTIN_EXCEPTIONS = [
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
]


def _resource(fault: Any) -> str | None:
    """What a fault takes hold of; two faults on one resource at once contradict each other."""
    registered = fault_type(fault.type)
    return registered.resource(fault) if registered is not None else None


def _same_resource(first: str | None, second: str | None) -> bool:
    """Equal resources, or "all workers" against any one worker."""
    if first is None or second is None:
        return False
    if first == second:
        return True
    workers = {first, second}
    return "workers" in workers and all(r.startswith("worker") for r in workers)


def _overlaps(first: tuple[float, float], second: tuple[float, float]) -> bool:
    """Strictly: a fault may start at the very time another one heals."""
    return first[0] < second[1] and second[0] < first[1] or first == second


def _check_overlaps(scenario: Scenario, document: SourceDocument) -> list[Problem]:
    problems = []
    ids = scenario.fault_ids()
    spans = static_spans(scenario)
    # A fault's window runs from its earliest start to its latest end.
    windows = {index: (start[0], end[1]) for index, (start, end) in spans.items()}
    resources = [_resource(fault) for fault in scenario.faults]
    for later in sorted(windows):
        for earlier in sorted(windows):
            if earlier >= later or not _same_resource(resources[later], resources[earlier]):
                continue
            if _overlaps(windows[later], windows[earlier]):
                resource = str(resources[later])
                problems.append(
                    document.problem(
                        ("faults", later),
                        f"contradictory faults: {ids[later]!r} ({scenario.faults[later].type}) "
                        f"overlaps {ids[earlier]!r} ({scenario.faults[earlier].type}) on the "
                        f"{resource.split(':')[0]}",
                        hint="give the first one a for: that ends before the second starts",
                    )
                )
    return problems


def _check_expectations(scenario: Scenario, document: SourceDocument) -> list[Problem]:
    registry = _check_registry()
    if registry is None:
        return []
    problems = []
    for index, expectation in enumerate(scenario.expect):
        function = registry.get(expectation.check)
        if function is None:
            problems.append(
                document.problem(
                    ("expect", index, "check"),
                    "unknown check",
                    given=repr(expectation.check),
                    expected=one_of(registry),
                    hint=did_you_mean(expectation.check, registry),
                )
            )
            continue
        accepted = _parameters(function)
        if accepted is None:
            continue
        problems += _known_broken_problems(expectation.params, document, index)
        for name in expectation.params:
            if name == "allow_unexercised":  # every expectation's own (chaos.checks.judge)
                if not isinstance(expectation.params[name], bool):
                    problems.append(document.problem(("expect", index, name),
                                                     "allow_unexercised is true or false",
                                                     given=repr(expectation.params[name])))  # fmt: skip
                continue
            if name not in accepted and name != "known_broken":
                problems.append(
                    document.problem(
                        ("expect", index, name),
                        f"the check {expectation.check!r} takes no parameter {name!r}",
                        expected=one_of(accepted) if accepted else "no parameters",
                        hint=did_you_mean(name, accepted),
                        prefer_key=True,
                    )
                )
        params = {k: v for k, v in expectation.params.items() if k != "known_broken"}
        for problem in _parameter_problems(expectation.check, params):
            path = tuple((problem.field_path or "").split("."))
            problems.append(
                document.problem(
                    ("expect", index, *path),
                    problem.message,
                    given=problem.given,
                    expected=problem.expected,
                    hint=problem.hint,
                )
            )
    return problems


def _known_broken_problems(
    params: dict[str, Any], document: SourceDocument, index: int
) -> list[Problem]:
    """Every expectation may say its promise is known broken, with a reason as text."""
    if "known_broken" not in params:
        return []
    from chaos.checks.promises import known_broken_problems

    return [
        document.problem(("expect", index, "known_broken"), problem.message,
                         given=problem.given, expected=problem.expected)  # fmt: skip
        for problem in known_broken_problems(params["known_broken"])
    ]


def _check_relax(scenario: Scenario, document: SourceDocument) -> list[Problem]:
    """A relaxed invariant must exist: a misspelt name would relax nothing, silently."""
    try:
        from chaos.checks import INVARIANTS
    except ImportError:
        return []
    return [
        document.problem(
            ("relax", name),
            "unknown invariant",
            given=repr(name),
            expected=one_of(INVARIANTS),
            hint=did_you_mean(name, INVARIANTS),
            prefer_key=True,
        )
        for name in scenario.relax or {}
        if name not in INVARIANTS
    ]


def _parameter_problems(check: str, params: dict[str, Any]) -> list[Problem]:
    """The check's own rules for its parameters' values (``pin:`` fields, types)."""
    from chaos.checks.registry import parameter_problems

    return parameter_problems(check, params)


def _check_registry() -> dict[str, Callable[..., Any]] | None:
    """The checker's registry, or None while it is not installed (then names are not checked)."""
    try:
        from chaos.checks import CHECKS
    except ImportError:
        return None
    return dict(CHECKS)


def _parameters(function: Callable[..., Any]) -> list[str] | None:
    """Keyword parameters a check takes after the history (None if it takes ``**kwargs``)."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return None
    names = []
    for position, parameter in enumerate(signature.parameters.values()):
        if parameter.kind is parameter.VAR_KEYWORD:
            return None
        if position == 0 or parameter.kind is parameter.VAR_POSITIONAL:
            continue
        names.append(parameter.name)
    return names


def _check_workload_paths(scenario: Scenario, document: SourceDocument) -> list[Problem]:
    return check_workload_paths(scenario, document, app_workdir(scenario, document.path))


_RULES = (
    _check_app,
    _check_workload_paths,
    _check_tasks,
    _check_item_templates,
    _check_celery_settings,
    _check_fault_references,
    _check_fault_targets,
    check_after_cycles,
    check_starts_before_timeout,
    _check_overlaps,
    _check_expectations,
    _check_relax,
)
