"""The words a fault entry of a scenario is written in: durations, random times, ``at:``/``after:``
and ``for:``/``until:``.

They live below the scenario model because every fault module builds its pydantic model on
``TimedFault``, and the scenario model builds its fault union from those modules.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    Tag,
    field_validator,
    model_validator,
)


def _seconds(value: object) -> float:
    # Imported when a value is validated, not at import: chaos.scenario imports this package
    # (its fault union), so importing chaos.scenario here would be a cycle.
    from chaos.scenario.durations import parse_duration

    return parse_duration(value)


Duration = Annotated[
    float,
    BeforeValidator(_seconds),
    PlainSerializer(lambda seconds: f"{seconds:g}s", when_used="json"),
]
"""Seconds, written with a unit in the file (``2s``, ``500ms``)."""


def _positive_seconds(value: object) -> float:
    seconds = _seconds(value)
    if seconds <= 0:
        raise ValueError(
            "zero duration: how long something lasts or is waited for must be above zero"
        )
    return seconds


PositiveDuration = Annotated[
    float,
    BeforeValidator(_positive_seconds),
    PlainSerializer(lambda seconds: f"{seconds:g}s", when_used="json"),
]
"""Seconds above zero: how long something lasts or is waited for (``for:``, ``timeout:``)."""


class StrictEntry(BaseModel):
    """A part of a scenario file: unknown keys refused, values frozen, aliases accepted."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class RandomRange(StrictEntry):
    """``{between: [1s, 3s]}``: a time drawn from the run's seed when the timeline is resolved."""

    between: tuple[Duration, Duration]

    @field_validator("between")
    @classmethod
    def _ordered(cls, value: tuple[float, float]) -> tuple[float, float]:
        if value[0] > value[1]:
            raise ValueError("the first bound must not be after the second")
        return value


def _time_kind(value: Any) -> str:
    return "kind:random_range" if isinstance(value, dict) else "kind:duration"


TimeSpec = Annotated[
    Annotated[Duration, Tag("kind:duration")] | Annotated[RandomRange, Tag("kind:random_range")],
    Discriminator(_time_kind),
]
"""A fixed time (``2s``) or a seeded random one (``{between: [1s, 3s]}``)."""

_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_AFTER = re.compile(r"^\s*(?P<event>[A-Za-z0-9_.-]+?)\s*(?:\+\s*(?P<offset>.+?))?\s*$")


def parse_after(value: str) -> tuple[str, float]:
    """Split ``"first_task_started + 1s"`` into the event and its offset in seconds."""
    match = _AFTER.match(value)
    if match is None:
        raise ValueError("write an event, optionally plus a time: first_task_started + 1s")
    offset = _seconds(match["offset"]) if match["offset"] else 0.0
    return match["event"], offset


class TimedFault(StrictEntry):
    """When a fault starts and how it ends, in an incident report's words."""

    id: str | None = Field(None, description="name other faults' after: can refer to")
    at: TimeSpec | None = Field(None, description="start, from the run's start: 2s")
    after: str | None = Field(
        None, description="start on an event, optionally plus a time: first_task_started + 1s"
    )
    for_: PositiveDuration | None = Field(
        None, alias="for", description="heal this long after applying"
    )
    until: str | None = Field(None, description="heal when this condition holds: queue_empty")
    deadline: PositiveDuration = Field(
        60.0, description="heal an until: fault after this at the latest"
    )

    @field_validator("after")
    @classmethod
    def _after_shape(cls, value: str | None) -> str | None:
        if value is not None:
            parse_after(value)
        return value

    @property
    def after_event(self) -> tuple[str, float] | None:
        """``("first_task_started", 1.0)`` for ``after: first_task_started + 1s``."""
        return parse_after(self.after) if self.after is not None else None

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str | None) -> str | None:
        if value is not None and not _ID.match(value):
            raise ValueError("an id is lower-case letters, digits, '-', '_' or '.'")
        return value

    @model_validator(mode="after")
    def _one_start_one_end(self) -> TimedFault:
        if self.at is not None and self.after is not None:
            raise ValueError("give either at: or after:, not both")
        if self.at is None and self.after is None:
            raise ValueError(
                "give at: (a time such as 2s) or after: (an event such as first_task_started)"
            )
        if self.for_ is not None and self.until is not None:
            raise ValueError("give either for: or until:, not both")
        return self

    @property
    def instantaneous(self) -> bool:
        return False


class InstantFault(TimedFault):
    """A fault that acts once: ``for:``/``until:`` are refused with ``instead`` (what holds it)."""

    instead: ClassVar[str] = ""

    @model_validator(mode="after")
    def _no_duration(self) -> InstantFault:
        if self.for_ is not None or self.until is not None:
            kind = getattr(self, "type", type(self).__name__)
            raise ValueError(f"{kind} is instantaneous (no for:/until:): {self.instead}")
        return self

    @property
    def instantaneous(self) -> bool:
        return True
