"""No NaN or infinity anywhere in a scenario: YAML's ``.nan`` and ``.inf`` are numbers to it.

``margin: .nan`` compares false with everything, so a check given it passes or fails for no
reason the file shows. Every number of the file is looked at, whatever field holds it (check
parameters, task arguments, toxic attributes), before the models read it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from chaos.errors import Problem
from chaos.scenario.source import FieldPath, SourceDocument


def non_finite_problems(document: SourceDocument) -> list[Problem]:
    """One problem per NaN or infinite number in the file, at its line and field."""
    return [
        document.problem(
            path,
            "not a finite number: NaN and infinity compare false or never end",
            given=repr(value),
            expected="a finite number",
        )
        for path, value in _numbers(document.values, ())
        if not math.isfinite(value)
    ]


def _numbers(value: Any, path: FieldPath) -> Iterator[tuple[FieldPath, float]]:
    if isinstance(value, float):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _numbers(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _numbers(item, (*path, index))
