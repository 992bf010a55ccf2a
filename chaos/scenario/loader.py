"""Read a scenario file into a validated ``Scenario``, or a ConfigError listing every problem.

Problems name ``file:line:column``, the field's path, what was given and what was expected, with
a "did you mean" where a key, a fault type or a name is close to a known one. Nothing is started:
validation reads files and Python source only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from chaos.errors import ConfigError, Problem
from chaos.scenario.finite import non_finite_problems
from chaos.scenario.model import (
    FAULT_MODELS,
    FAULT_TYPES,
    AppSpec,
    DatabaseSpec,
    HitRange,
    RandomRange,
    Scenario,
    Topology,
    WorkloadStream,
)
from chaos.scenario.salvage import salvaged_problems
from chaos.scenario.semantics import check_semantics
from chaos.scenario.source import FieldPath, SourceDocument, parse_source, read_source
from chaos.scenario.suggest import did_you_mean, one_of

SCENARIO_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario with the file it came from (None when built from a dict)."""

    scenario: Scenario
    path: Path | None
    text: str


def load_scenario(path: Path | str) -> LoadedScenario:
    """The scenario in ``path``; ConfigError with all its problems if it is not valid."""
    document, problems = read_source(path)
    return _validated(document, problems)


def load_scenario_text(text: str, path: Path | str = "<scenario>") -> LoadedScenario:
    document, problems = parse_source(text, path)
    return _validated(document, problems)


def scenario_problems(path: Path | str) -> list[Problem]:
    """Every problem of one file (empty when valid): what ``chaos validate`` prints."""
    try:
        load_scenario(path)
    except ConfigError as exc:
        return exc.problems
    return []


def _validated(document: SourceDocument | None, problems: list[Problem]) -> LoadedScenario:
    if document is None:
        raise ConfigError(problems)
    non_finite = non_finite_problems(document)
    problems.extend(non_finite)
    try:
        scenario = Scenario.model_validate(document.values)
    except ValidationError as exc:
        # A NaN duration is also "unitless" to the model: say the first, truer thing once.
        said = {problem.field_path for problem in non_finite}
        field_problems = [
            problem
            for problem in _problems_from_pydantic(exc, document)
            if problem.field_path not in said
        ]
        problems.extend(field_problems)
        bad_paths = [_data_path(error["loc"], document.values) for error in exc.errors()]
        reported = {(p.line, p.field_path) for p in problems}
        problems.extend(
            p
            for p in salvaged_problems(document, bad_paths)
            if (p.line, p.field_path) not in reported
        )
        raise ConfigError(sorted(problems, key=_reading_order)) from None
    problems.extend(check_semantics(scenario, document))
    if problems:
        raise ConfigError(sorted(problems, key=_reading_order))
    return LoadedScenario(scenario=scenario, path=document.path, text=document.text)


def _reading_order(problem: Problem) -> tuple[int, int]:
    return (problem.line or 0, problem.column or 0)


def _data_path(loc: tuple[Any, ...], values: Any) -> FieldPath:
    """The path in the file's data for a pydantic ``loc``, dropping union tags it inserts."""
    path: list[str | int] = []
    current = values
    for part in loc:
        if isinstance(part, str) and part.startswith("kind:"):
            continue  # a union member's tag (see chaos.scenario.model), not a key of the file
        if (
            isinstance(current, dict)
            and part in current
            or isinstance(current, list)
            and isinstance(part, int)
            and 0 <= part < len(current)
        ):
            path.append(part)
            current = current[part]
        elif isinstance(current, dict) and isinstance(part, str) and part == loc[-1]:
            path.append(part)  # a missing or extra key: not in the data, but it is the field
            current = None
    return tuple(path)


def _value_at(values: Any, path: FieldPath) -> Any:
    current = values
    for part in path:
        current = current[part]
    return current


def _model_for(path: FieldPath, values: Any) -> type[BaseModel] | None:
    """Which model describes the mapping at ``path``: its keys are what a "did you mean" offers."""
    if not path:
        return Scenario
    head = path[0]
    if path == ("app",):
        return AppSpec
    if path == ("app", "database"):
        return DatabaseSpec
    if path == ("topology",):
        return Topology
    if head == "workload" and len(path) == 2:
        return WorkloadStream
    if head == "faults" and len(path) >= 2:
        fault = _value_at(values, path[:2])
        model = FAULT_MODELS.get(fault.get("type")) if isinstance(fault, dict) else None
        if len(path) == 2:
            return model
        if path[2:] == ("hits",):
            return HitRange
    if path[-1] == "at":
        return RandomRange
    return None


def _keys_of(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def _given(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _problems_from_pydantic(exc: ValidationError, document: SourceDocument) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[tuple[FieldPath, str]] = set()
    located = []
    for error in exc.errors(include_url=False):
        path = _data_path(error["loc"], document.values)
        if (path, error["type"]) not in seen:
            seen.add((path, error["type"]))
            located.append((error, path))
    # A misspelt key shows up twice: as an unknown key and as its missing field. Say it once.
    misspelt = {
        (path[:-1], problem.hint)
        for (error, path), problem in (((e, p), _problem_for(e, p, document)) for e, p in located)
        if error["type"] == "extra_forbidden" and problem.hint
    }
    for error, path in located:
        if error["type"] == "missing" and (path[:-1], f"did you mean {path[-1]!r}?") in misspelt:
            continue
        problems.append(_problem_for(error, path, document))
    return problems


def _problem_for(error: dict[str, Any], path: FieldPath, document: SourceDocument) -> Problem:
    kind = error["type"]
    given = error.get("input")
    if kind == "extra_forbidden":
        key = str(path[-1])
        model = _model_for(path[:-1], document.values)
        keys = _keys_of(model) if model else []
        return document.problem(
            path,
            f"unknown key {key!r}",
            expected=one_of(keys) if keys else None,
            hint=did_you_mean(key, keys) if keys else None,
            prefer_key=True,
        )
    if kind == "missing":
        return document.problem(path, f"missing required field {path[-1]!r}")
    if kind == "unknown_fault_type":
        fault_type = given.get("type") if isinstance(given, dict) else None
        if fault_type is None:
            return document.problem(path, "a fault needs type:", expected=one_of(FAULT_TYPES))
        return document.problem(
            (*path, "type"),
            "unknown fault type",
            given=_given(fault_type),
            expected=one_of(FAULT_TYPES),
            hint=did_you_mean(str(fault_type), FAULT_TYPES),
        )
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected")
        options = [part.strip(" '\"") for part in str(expected).replace(" or ", ",").split(",")]
        return document.problem(
            path,
            "not an allowed value",
            given=_given(given),
            expected=f"one of {expected}",
            hint=did_you_mean(str(given), options),
        )
    if kind == "value_error":
        message = str(error.get("ctx", {}).get("error", error["msg"]))
        # A rule about a whole mapping (either at: or after:) points at it; no need to echo it.
        shown = None if isinstance(given, (dict, list)) else _given(given)
        return document.problem(path, message, given=shown)
    message = error["msg"]
    message = message[0].lower() + message[1:] if message else "invalid value"
    return document.problem(path, message, given=_given(given))


def scenario_files(targets: list[Path | str]) -> list[Path]:
    """The scenario files named, a directory standing for its ``*.yaml``/``*.yml`` files."""
    files: list[Path] = []
    problems: list[Problem] = []
    for target in targets:
        target_path = Path(target)
        if target_path.is_dir():
            found = sorted(
                path for path in target_path.iterdir() if path.suffix in SCENARIO_SUFFIXES
            )
            if not found:
                problems.append(
                    Problem("no scenario files (*.yaml) in this directory", file=target_path)
                )
            files.extend(found)
        elif target_path.exists():
            files.append(target_path)
        else:
            problems.append(Problem("no such file or directory", file=target_path))
    if problems:
        raise ConfigError(problems)
    return files
