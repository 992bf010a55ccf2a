"""Whole-file rules for a file whose fields did not all validate, so one pass reports everything.

A file with a misspelt key and an unknown task should say both at once. When pydantic refuses some
fields, the entries of ``workload:``, ``faults:`` and ``expect:`` that hold errors are left out,
other sections with errors fall back to their defaults, and the whole-file rules run on what is
left; their problems are mapped back to the entries' places in the file. Rules that would only
repeat a field problem, or that depend on a section that fell back to defaults, are dropped.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import ValidationError

from chaos.errors import Problem
from chaos.scenario.model import Scenario
from chaos.scenario.semantics import check_semantics
from chaos.scenario.source import FieldPath, SourceDocument

LIST_SECTIONS = ("workload", "faults", "expect")
#: Placeholders for required sections whose every entry was left out.
_PLACEHOLDERS: dict[str, Any] = {
    "name": "unnamed",
    "workload": [{"count": 1}],
    "expect": [{"check": "no_lost"}],
}


class _RemappedDocument(SourceDocument):
    """The file's document, with list indices of the salvaged scenario mapped to the file's."""

    def __init__(self, document: SourceDocument, kept: dict[str, list[int]]) -> None:
        super().__init__(
            path=document.path,
            text=document.text,
            values=document.values,
            value_positions=document.value_positions,
            key_positions=document.key_positions,
        )
        self.kept = kept

    def original(self, path: FieldPath) -> FieldPath:
        if len(path) >= 2 and path[0] in self.kept and isinstance(path[1], int):
            indices = self.kept[str(path[0])]
            if path[1] < len(indices):
                return (path[0], indices[path[1]], *path[2:])
        return path

    def problem(self, path: FieldPath, message: str, **fields: Any) -> Problem:
        return super().problem(self.original(path), message, **fields)


def salvaged_problems(document: SourceDocument, bad_paths: list[FieldPath]) -> list[Problem]:
    """Whole-file problems of the parts of ``document`` that validated on their own."""
    values = copy.deepcopy(document.values)
    if not isinstance(values, dict):
        return []
    bad_sections: set[str] = set()
    bad_entries: dict[str, set[int]] = {}
    for path in bad_paths:
        if not path:
            continue
        section = str(path[0])
        if section in LIST_SECTIONS and len(path) >= 2 and isinstance(path[1], int):
            bad_entries.setdefault(section, set()).add(path[1])
        else:
            bad_sections.add(section)
    kept: dict[str, list[int]] = {}
    for section in LIST_SECTIONS:
        entries = values.get(section)
        if isinstance(entries, list) and section not in bad_sections:
            kept[section] = [
                i for i in range(len(entries)) if i not in bad_entries.get(section, ())
            ]
            values[section] = [entries[i] for i in kept[section]]
    for section in bad_sections:
        values.pop(section, None)
    for section, placeholder in _PLACEHOLDERS.items():
        if not values.get(section):
            values[section] = placeholder
            bad_sections.add(section)
    try:
        scenario = Scenario.model_validate(values)
    except ValidationError:
        return []  # the errors hang together: the field problems already say what to fix
    problems = check_semantics(scenario, _RemappedDocument(document, kept))
    return [p for p in problems if not _depends_on(p, bad_sections)]


def _depends_on(problem: Problem, bad_sections: set[str]) -> bool:
    """A problem inside a section that fell back to defaults, or judged against one."""
    field = problem.field_path or ""
    section = field.split(".")[0].split("[")[0]
    if section in bad_sections:
        return True
    if "topology" in bad_sections and field.endswith(".worker"):
        return True  # worker names are judged against the topology's count
    if "timeout" in bad_sections and "the run's timeout" in problem.message:
        return True  # starts are judged against the timeout, which fell back to its default
    if bad_sections & {"faults"} and field.startswith("faults"):
        return True
    return False
