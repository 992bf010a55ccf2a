"""Faults on the link to Redis, through ``stack.proxy`` (Toxiproxy's API or the project's own)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from chaos.faults.entry import TimedFault
from chaos.faults.registry import Effect, FaultContext, FaultType, Resolution, register

if TYPE_CHECKING:
    from chaos.scenario.timeline import ResolvedFault


class ProxyDown(TimedFault):
    """The proxy refuses connections and closes live ones (Toxiproxy's enabled=false)."""

    type: Literal["proxy.down"]


TOXIC_ATTRIBUTES: dict[str, dict[str, type]] = {
    "latency": {"latency": int, "jitter": int},
    "bandwidth": {"rate": int},
    "slow_close": {"delay": int},
    "timeout": {"timeout": int},
    "reset_peer": {"timeout": int},
    "slicer": {"average_size": int, "size_variation": int, "delay": int},
    "limit_data": {"bytes": int},
    "redis_error": {"error": str, "commands": list, "count": int},
}
"""Toxiproxy's toxic types and attributes, plus the project's ``redis_error`` extension."""

#: Attributes in milliseconds of the app's time: the proxy keeps real time, so under a dilated
#: clock (xN) it gets them divided by N; a bandwidth (KB per app second) is multiplied by N.
TIME_ATTRIBUTES = frozenset({"latency", "jitter", "delay", "timeout"})


def real_time_attributes(attributes: dict[str, Any], dilation: float) -> dict[str, Any]:
    """A toxic's attributes as the real-time proxy must get them under a dilated clock."""
    if dilation == 1.0:
        return dict(attributes)
    scaled = {}
    for name, value in attributes.items():
        if name in TIME_ATTRIBUTES and isinstance(value, (int, float)):
            value = round(value / dilation)
        elif name == "rate" and isinstance(value, (int, float)):
            value = round(value * dilation)
        scaled[name] = value
    return scaled


class ProxyToxic(TimedFault):
    """A Toxiproxy toxic on the broker's proxy, removed when healed."""

    type: Literal["proxy.toxic"]
    toxic: str
    stream: Literal["upstream", "downstream"] | None = Field(
        None, description="Toxiproxy's default: downstream (upstream for redis_error)"
    )
    toxicity: float = Field(1.0, ge=0.0, le=1.0)
    attributes: dict[str, Any] = Field(default_factory=dict)


#: Toxics through which nothing passes (when they act on every connection).
UNREACHABLE_TOXICS = frozenset({"timeout"})
#: Toxics through which a publish fails although bytes may flow (on any share of connections).
REFUSING_TOXICS = frozenset({"reset_peer", "redis_error", "limit_data"})


@register
class ProxyDownType(FaultType):
    name = "proxy.down"
    model = ProxyDown
    past_tense = "down"
    label = "the proxy refuses connections and closes live ones (Toxiproxy enabled=false)"

    def resource(self, fault: Any) -> str | None:
        return "proxy"

    def resolve(self, fault: Any, resolution: Resolution) -> tuple[str, dict[str, Any]]:
        return "proxy", {}

    def apply(self, context: FaultContext, fault: ResolvedFault) -> None:
        context.stack.proxy.disable()

    def heal(self, context: FaultContext, fault: ResolvedFault) -> None:
        context.stack.proxy.enable()

    def effects(self, params: Mapping[str, Any]) -> frozenset[Effect]:
        return frozenset({Effect.UNREACHABLE})


@register
class ProxyToxicType(FaultType):
    name = "proxy.toxic"
    model = ProxyToxic
    past_tense = "toxic"
    label = "a Toxiproxy toxic (latency, timeout, reset_peer, redis_error ...) on the link"

    def resource(self, fault: Any) -> str | None:
        return None  # toxics stack up on a link (Toxiproxy runs them in order): no contradiction

    def resolve(self, fault: Any, resolution: Resolution) -> tuple[str, dict[str, Any]]:
        return "proxy", {
            "toxic": fault.toxic,
            "stream": fault.stream,
            "toxicity": fault.toxicity,
            "attributes": dict(fault.attributes),
        }

    def apply(self, context: FaultContext, fault: ResolvedFault) -> None:
        params = fault.params
        context.stack.proxy.add_toxic(
            params["toxic"], name=fault.fault_id, stream=params.get("stream"),
            toxicity=params.get("toxicity", 1.0),
            **real_time_attributes(params.get("attributes", {}), context.dilation),
        )  # fmt: skip

    def heal(self, context: FaultContext, fault: ResolvedFault) -> None:
        context.stack.proxy.remove_toxic(fault.fault_id)

    def effects(self, params: Mapping[str, Any]) -> frozenset[Effect]:
        toxic = str(params.get("toxic", "")).lower()
        toxicity = params.get("toxicity", 1.0)
        whole = toxicity is None or float(toxicity) >= 1.0  # below 1: only some connections
        if toxic in UNREACHABLE_TOXICS and whole:
            return frozenset({Effect.UNREACHABLE, Effect.HUNG})
        if toxic in REFUSING_TOXICS:
            return frozenset({Effect.REFUSING})
        return frozenset()
