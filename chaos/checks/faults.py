"""What a fault window means for the broker: unreachable, refusing, or losing its memory.

Each fault type declares its effects (``chaos.faults``); checks ask these questions of a recorded
window rather than matching names themselves. Windows of older journals name the type by its verb
alone (``kill`` on target ``broker`` or ``redis``); they are read as the registered type.
"""

from __future__ import annotations

from chaos.faults import Effect, fault_type
from chaos.history import FaultWindow, RunHistory

#: Targets older journals gave the broker.
_BROKER_TARGETS = ("broker", "redis")


def fault_type_name(window: FaultWindow) -> str:
    """``broker.kill`` for a window of type ``broker.kill``, or of type ``kill`` on ``redis``."""
    kind = window.type.lower()
    target = window.target.lower()
    if "." not in kind:
        if target in _BROKER_TARGETS:
            return f"broker.{kind}"
        if target == "proxy":
            return f"proxy.{kind}"
        if target.startswith("worker") and fault_type(f"worker.{kind}") is not None:
            return f"worker.{kind}"
        return kind
    family, _, verb = kind.partition(".")
    return f"broker.{verb}" if family == "redis" else kind


def effects(window: FaultWindow) -> frozenset[Effect]:
    """What the window's fault did to the system; nothing for a type this suite does not know."""
    registered = fault_type(fault_type_name(window))
    return registered.effects(window.params) if registered is not None else frozenset()


def is_broker_unreachable(window: FaultWindow) -> bool:
    """Nothing reaches Redis during this window: no publish, no delivery."""
    return Effect.UNREACHABLE in effects(window)


def is_broker_outage(window: FaultWindow) -> bool:
    """Publishes are expected to fail during this window (unreachable or refusing)."""
    return bool(effects(window) & {Effect.UNREACHABLE, Effect.REFUSING})


def is_worker_fault(window: FaultWindow) -> bool:
    return Effect.WORKERS_DISRUPTED in effects(window)


def persistence(window: FaultWindow, history: RunHistory) -> str | None:
    """The broker's persistence ("none", "everysec", "always") if the journal says it."""
    for source in (window.params, history.meta.extra, history.meta.extra.get("topology") or {}):
        value = source.get("persistence") if hasattr(source, "get") else None
        if value is not None:
            return str(value)
    return None


def loses_broker_memory(window: FaultWindow, history: RunHistory) -> bool:
    """Redis restarted from nothing: a kill or stop with persistence off.

    Unknown persistence counts as off: it is the suite's default and Redis's own under test.
    """
    if Effect.LOSES_MEMORY not in effects(window):
        return False
    return persistence(window, history) in (None, "none", "off", "false")


def describe_window(window: FaultWindow, history: RunHistory) -> str:
    """``broker kill 12.10 to 15.10 s with persistence off``."""
    text = window.describe()
    if Effect.LOSES_MEMORY in effects(window):
        mode = persistence(window, history)
        off = mode in (None, "none", "off")
        text += " with persistence off" if off else f" with persistence {mode}"
    return text


def outage_windows(history: RunHistory) -> list[FaultWindow]:
    return [w for w in history.fault_windows if is_broker_outage(w)]


def unreachable_windows(history: RunHistory) -> list[FaultWindow]:
    return [w for w in history.fault_windows if is_broker_unreachable(w)]
