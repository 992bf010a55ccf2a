"""Faults on the Redis server itself, through ``stack.broker`` (never through the proxy)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, model_validator

from chaos.client_names import PRODUCER_CLIENT_NAME, WORKER_CLIENT_PREFIX
from chaos.faults.entry import InstantFault, TimedFault
from chaos.faults.registry import (
    Effect,
    FaultContext,
    FaultType,
    Resolution,
    applied_details_key,
    register,
)

if TYPE_CHECKING:
    from chaos.scenario.timeline import ResolvedFault


class BrokerFault(TimedFault):
    """The Redis server itself: SIGKILL, SIGTERM or SIGSTOP; healed by starting or resuming it."""

    type: Literal["broker.kill", "broker.stop", "broker.pause"]


class BrokerRestart(TimedFault):
    """Stop then start Redis at once (an instant fault: no for:/until:)."""

    type: Literal["broker.restart"]

    @model_validator(mode="after")
    def _no_duration(self) -> BrokerRestart:
        if self.for_ is not None or self.until is not None:
            raise ValueError(
                "broker.restart is instantaneous; use broker.kill or broker.stop with for:"
            )
        return self

    @property
    def instantaneous(self) -> bool:
        return True


class _OnBroker(FaultType):
    """A fault on the one Redis server: it is the whole resource, and no params are resolved."""

    records_persistence = True

    def resource(self, fault: Any) -> str | None:
        return "broker"

    def resolve(self, fault: Any, resolution: Resolution) -> tuple[str, dict[str, Any]]:
        return "broker", {}


class _Signalled(_OnBroker):
    """Killed or stopped: Redis is gone until started again, from disk if it persists."""

    model = BrokerFault
    tag = "kind:broker"

    def heal(self, context: FaultContext, fault: ResolvedFault) -> None:
        if not context.stack.broker.is_running():
            context.stack.broker.start()

    def effects(self, params: Mapping[str, Any]) -> frozenset[Effect]:
        return frozenset({Effect.UNREACHABLE, Effect.LOSES_MEMORY})


@register
class BrokerKill(_Signalled):
    name = "broker.kill"
    past_tense = "killed"
    label = "SIGKILL redis-server (docker kill); started again when healed"

    def apply(self, context: FaultContext, fault: ResolvedFault) -> None:
        context.stack.broker.kill()


@register
class BrokerStop(_Signalled):
    name = "broker.stop"
    past_tense = "stopped"
    label = "SIGTERM redis-server (saves if it persists); started again when healed"

    def apply(self, context: FaultContext, fault: ResolvedFault) -> None:
        context.stack.broker.stop()


@register
class BrokerPause(_OnBroker):
    name = "broker.pause"
    model = BrokerFault
    tag = "kind:broker"
    past_tense = "paused"
    label = "SIGSTOP redis-server: connects succeed, nothing is answered; SIGCONT when healed"

    def apply(self, context: FaultContext, fault: ResolvedFault) -> None:
        context.stack.broker.pause()

    def heal(self, context: FaultContext, fault: ResolvedFault) -> None:
        context.stack.broker.resume()

    def effects(self, params: Mapping[str, Any]) -> frozenset[Effect]:
        return frozenset({Effect.UNREACHABLE, Effect.HUNG})


@register
class BrokerRestartType(_OnBroker):
    name = "broker.restart"
    model = BrokerRestart
    past_tense = "restarted"
    label = "stop then start redis-server at once (instantaneous)"

    def apply(self, context: FaultContext, fault: ResolvedFault) -> None:
        context.stack.broker.restart()

    def heal(self, context: FaultContext, fault: ResolvedFault) -> None:
        """Nothing to undo: the restart is over when it is applied."""

    def effects(self, params: Mapping[str, Any]) -> frozenset[Effect]:
        return frozenset({Effect.UNREACHABLE, Effect.LOSES_MEMORY})


class BrokerOom(TimedFault):
    """Redis at its memory limit with ``noeviction``: writes answer ``-OOM``, reads still work."""

    type: Literal["broker.oom"]


@register
class BrokerOomType(_OnBroker):
    name = "broker.oom"
    model = BrokerOom
    past_tense = "out of memory"
    label = "Redis at maxmemory with noeviction: writes answer -OOM; old limit restored when healed"

    #: Policy first, so that no key is evicted under an evicting policy when the limit drops.
    LIMIT: ClassVar[dict[str, str]] = {"maxmemory-policy": "noeviction", "maxmemory": "1"}

    def apply(self, context: FaultContext, fault: ResolvedFault) -> None:
        previous = context.stack.broker.reconfigure(self.LIMIT)
        context.shared[f"{self.name}:{fault.fault_id}"] = previous

    def heal(self, context: FaultContext, fault: ResolvedFault) -> None:
        previous = context.shared.pop(f"{self.name}:{fault.fault_id}")
        context.stack.broker.reconfigure(dict(reversed(previous.items())))  # the limit first

    def effects(self, params: Mapping[str, Any]) -> frozenset[Effect]:
        return frozenset({Effect.REFUSING})


#: Which of Redis's clients ``broker.disconnect_clients`` picks, by the names the suite gives them.
DISCONNECT_CHOICES = ("workers", "producer", "all")


class BrokerDisconnectClients(InstantFault):
    """Redis closes its clients' connections while it stays up (an instant fault)."""

    instead: ClassVar[str] = (
        "the clients reconnect at once; to keep them out, use proxy.down with for:"
    )
    type: Literal["broker.disconnect_clients"]
    clients: Literal["workers", "producer", "all"] = Field(
        "workers", description="whose connections: the workers', the workload's, or every client"
    )


@register
class BrokerDisconnectClientsType(FaultType):
    """``CLIENT KILL`` on Redis's own port: what an idle ``timeout``, a failover or an operator
    does. Every connection of the chosen clients is reset by the server at once; Redis keeps its
    data, so a channel closing on the reset can restore its unacked messages. How many
    connections it closed is journaled with ``fault.applied``; none is "not exercised"."""

    name = "broker.disconnect_clients"
    model = BrokerDisconnectClients
    past_tense = "disconnected its clients"
    label = "CLIENT KILL the workers' (or producer's, or all) connections; Redis stays up"

    def resource(self, fault: Any) -> str | None:
        return None  # instantaneous, and Redis itself is left as it was

    def resolve(self, fault: Any, resolution: Resolution) -> tuple[str, dict[str, Any]]:
        return "broker", {"clients": fault.clients}

    def apply(self, context: FaultContext, fault: ResolvedFault) -> None:
        clients = str(fault.params.get("clients", "workers"))
        broker = context.stack.broker
        if clients == "workers":
            killed = broker.disconnect_clients(prefix=WORKER_CLIENT_PREFIX)
        elif clients == "producer":
            killed = broker.disconnect_clients(name=PRODUCER_CLIENT_NAME)
        else:
            killed = broker.disconnect_clients()
        with context.lock:
            context.shared[applied_details_key(fault.fault_id)] = {
                "disconnected": len(killed),
                "client_names": sorted({found["name"] or "(unnamed)" for found in killed}),
            }

    def heal(self, context: FaultContext, fault: ResolvedFault) -> None:
        """Nothing to undo: the clients reconnect by themselves."""

    def effects(self, params: Mapping[str, Any]) -> frozenset[Effect]:
        return frozenset({Effect.UNREACHABLE})
