"""Named failure points in task code, armed by a scenario (a stub until the failpoints issue).

``failpoint("shop.carrier")`` is free when nothing is armed.
"""

from __future__ import annotations


def failpoint(name: str) -> None:
    """Fire the plan armed for ``name``, if any; do nothing otherwise."""
    return None
