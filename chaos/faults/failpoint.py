"""Failpoints: a named point in the app's code (or a patched function) raising or sleeping by plan.

Arming writes the run's plan file, which the workers' failpoint hooks read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator, model_validator

from chaos import failpoints
from chaos.faults.entry import Duration, StrictEntry, TimedFault
from chaos.faults.registry import Effect, FaultContext, FaultType, Resolution, register

if TYPE_CHECKING:
    from chaos.scenario.timeline import ResolvedFault


class HitRange(StrictEntry):
    """Hits ``from`` to ``to`` (1-based, inclusive); ``to`` absent means every hit from ``from``."""

    from_: int = Field(1, alias="from", ge=1)
    to: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> HitRange:
        if self.to is not None and self.to < self.from_:
            raise ValueError("to: must not be before from:")
        return self


class FailpointFault(TimedFault):
    """Arm a failpoint (by name in the code, or by patching ``module:function``) with a plan."""

    type: Literal["failpoint"]
    name: str | None = Field(None, description="the name passed to failpoint() in the code")
    patch: str | None = Field(None, description="module:function to wrap, for code you cannot edit")
    raise_: str | None = Field(None, alias="raise", description="exception class by import path")
    message: str = "injected by chaos failpoint"
    delay: Duration | None = Field(None, description="sleep this long on each hit it fires")
    hits: HitRange | None = None
    probability: float | None = Field(None, ge=0.0, le=1.0)

    @field_validator("patch")
    @classmethod
    def _patch_shape(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[\w.]+:[\w.]+$", value):
            raise ValueError("write the target as module:function, e.g. shop.carrier:post")
        return value

    @field_validator("raise_")
    @classmethod
    def _raise_shape(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[A-Za-z_][\w]*(\.[A-Za-z_]\w*)+$", value):
            raise ValueError("name the exception by import path, e.g. builtins.ConnectionError")
        return value

    @model_validator(mode="after")
    def _one_target_one_action(self) -> FailpointFault:
        if (self.name is None) == (self.patch is None):
            raise ValueError("give exactly one of name: or patch:")
        if self.raise_ is None and self.delay is None:
            raise ValueError("give raise: (an exception) or delay: (a time), or both")
        if self.hits is not None and self.probability is not None:
            raise ValueError("give either hits: or probability:, not both")
        return self

    @property
    def failpoint_name(self) -> str:
        return self.name if self.name is not None else f"patch:{self.patch}"


def armed_plans(context: FaultContext) -> dict[str, dict[str, Any]]:
    """The plans armed in this run, by failpoint name (what the plan file holds)."""
    plans: dict[str, dict[str, Any]] = context.shared.setdefault("failpoint_plans", {})
    return plans


@register
class Failpoint(FaultType):
    name = "failpoint"
    model = FailpointFault
    past_tense = "failpoint"
    label = "arm a failpoint in the app's code (raise and/or delay, by hits or probability)"

    def resource(self, fault: Any) -> str | None:
        return f"failpoint:{fault.failpoint_name}"

    def resolve(self, fault: Any, resolution: Resolution) -> tuple[str, dict[str, Any]]:
        plan: dict[str, Any] = {
            "raise": fault.raise_,
            "message": fault.message,
            "delay": fault.delay,
            "hits_from": fault.hits.from_ if fault.hits else None,
            "hits_to": fault.hits.to if fault.hits else None,
            "probability": fault.probability,
            "seed": resolution.rng("failpoint").getrandbits(32),
            "patch": fault.patch,
        }
        return fault.failpoint_name, plan

    # Faults due at the same time are applied on a thread pool: arming two failpoints at once must
    # not lose one plan, so the change to the plans and its write happen under one lock.

    def apply(self, context: FaultContext, fault: ResolvedFault) -> None:
        with context.lock:
            plans = armed_plans(context)
            plans[fault.target] = {"arming": fault.fault_id, **fault.params}
            failpoints.write_plans(context.run_dir, plans)

    def heal(self, context: FaultContext, fault: ResolvedFault) -> None:
        with context.lock:
            plans = armed_plans(context)
            plans.pop(fault.target, None)
            failpoints.write_plans(context.run_dir, plans)

    def effects(self, params: Mapping[str, Any]) -> frozenset[Effect]:
        return frozenset()  # what a failpoint breaks is the app's business, not the broker's
