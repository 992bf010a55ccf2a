""" "Did you mean" for misspelt keys, fault types, checks and task names."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """A hint naming the closest candidate, or None when nothing is close."""
    choices = sorted(set(candidates))
    close = difflib.get_close_matches(str(word), choices, n=1, cutoff=0.6)
    if not close:
        lowered = {choice.lower(): choice for choice in choices}
        if str(word).lower() in lowered:
            close = [lowered[str(word).lower()]]
    return f"did you mean {close[0]!r}?" if close else None


def one_of(candidates: Iterable[str], limit: int = 12) -> str:
    """``one of a, b, c`` for an ``expected`` text, shortened when the list is long."""
    choices = sorted(set(candidates))
    shown = ", ".join(choices[:limit])
    if len(choices) > limit:
        shown += f", ... ({len(choices)} in all)"
    return f"one of {shown}"
