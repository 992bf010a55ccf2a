"""Per-message values of a workload stream: ``args: ["{n}"]`` sends 1, 2, 3, ...

A stream's ``args``/``kwargs`` (and a ``path: http`` stream's url, json, form and headers) may hold
strings with ``{n}``, the message's number within its stream counted from 1 (as a database's ids
are), so that each message carries its own order id and a check can tell them apart. A string
that is exactly ``{n}`` becomes the integer itself; any other string is formatted
(``"order-{n:03d}"`` gives ``"order-007"``; ``{{`` and ``}}`` are literal braces). Only ``n`` may
be named: the scenario's validation reports anything else at its line, before a run starts.
"""

from __future__ import annotations

import string
from typing import Any

ITEM_FIELD = "n"
_FORMATTER = string.Formatter()


def template_problem(text: str) -> str | None:
    """Why ``text`` is not a valid item template, or None."""
    try:
        fields = [name for _, name, _, _ in _FORMATTER.parse(text) if name is not None]
    except ValueError as exc:
        return f"not a valid template ({exc}); write {{{{ and }}}} for literal braces"
    unknown = sorted({name for name in fields if name != ITEM_FIELD})
    if unknown:
        named = ", ".join("{" + (name or "") + "}" for name in unknown)
        return f"unknown placeholder {named}; only {{n}} (the message's index) is filled in"
    try:
        text.format(n=0)
    except (ValueError, TypeError) as exc:
        return f"{{n}} cannot be formatted so: {exc}"
    return None


FieldPath = tuple[str | int, ...]


def template_problems(value: Any, path: FieldPath = ()) -> list[tuple[FieldPath, str]]:
    """Every bad template inside ``value`` (nested lists and dicts), with its path."""
    if isinstance(value, str):
        problem = template_problem(value)
        return [] if problem is None else [(path, problem)]
    items = enumerate(value) if isinstance(value, list) else (
        value.items() if isinstance(value, dict) else ()
    )
    return [found for key, item in items for found in template_problems(item, (*path, key))]


def render(value: Any, number: int) -> Any:
    """``value`` with every template filled in for message ``number`` (1-based)."""
    if isinstance(value, str):
        if value == "{" + ITEM_FIELD + "}":
            return number
        return value.format(n=number) if "{" in value or "}" in value else value
    if isinstance(value, list):
        return [render(item, number) for item in value]
    if isinstance(value, dict):
        return {key: render(item, number) for key, item in value.items()}
    return value
