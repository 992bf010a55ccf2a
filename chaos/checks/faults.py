"""What a fault window means for the broker: unreachable, refusing, or losing its memory.

The runner names faults by target and type (``broker`` ``kill``, ``proxy`` ``down``, a toxic's
type on ``proxy``); checks ask these questions rather than matching names themselves.
"""

from __future__ import annotations

from chaos.history import FaultWindow, RunHistory

BROKER_TARGETS = ("broker", "redis")
PROXY_TARGETS = ("proxy",)
WORKER_TARGETS = ("worker",)

#: Broker faults through which nothing passes (a hung Redis accepts TCP but answers nothing).
BROKER_UNREACHABLE_TYPES = frozenset({"kill", "stop", "pause", "hang", "restart", "down"})
#: Proxy faults through which nothing passes.
PROXY_UNREACHABLE_TYPES = frozenset({"down", "disable", "disabled", "timeout"})
#: Proxy faults through which a publish fails although bytes may flow.
PROXY_REFUSING_TYPES = frozenset({"reset_peer", "redis_error", "limit_data"})
#: Broker faults after which Redis comes back empty unless it persists to disk.
MEMORY_LOSING_TYPES = frozenset({"kill", "stop", "restart"})


def _type(window: FaultWindow) -> str:
    """``kill`` for ``broker.kill``; a toxic's own type (``timeout``) for ``proxy.toxic``."""
    kind = window.type.lower().rsplit(".", 1)[-1]
    if kind == "toxic":
        return str(window.params.get("toxic", kind)).lower()
    return kind


def _whole(window: FaultWindow) -> bool:
    """A toxic with toxicity below 1 touches only some connections."""
    toxicity = window.params.get("toxicity", 1.0)
    return toxicity is None or float(toxicity) >= 1.0


def _targets(window: FaultWindow, names: tuple[str, ...]) -> bool:
    target = window.target.lower()
    kind = window.type.lower()
    return any(target.startswith(n) or kind.startswith(n + ".") for n in names)


def is_broker_unreachable(window: FaultWindow) -> bool:
    """Nothing reaches Redis during this window: no publish, no delivery."""
    if _targets(window, BROKER_TARGETS):
        return _type(window) in BROKER_UNREACHABLE_TYPES
    if _targets(window, PROXY_TARGETS):
        return _type(window) in PROXY_UNREACHABLE_TYPES and _whole(window)
    return False


def is_broker_outage(window: FaultWindow) -> bool:
    """Publishes are expected to fail during this window (unreachable or refusing)."""
    if is_broker_unreachable(window):
        return True
    return _targets(window, PROXY_TARGETS) and _type(window) in PROXY_REFUSING_TYPES


def is_worker_fault(window: FaultWindow) -> bool:
    return _targets(window, WORKER_TARGETS)


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
    if not (_targets(window, BROKER_TARGETS) and _type(window) in MEMORY_LOSING_TYPES):
        return False
    return persistence(window, history) in (None, "none", "off", "false")


def describe_window(window: FaultWindow, history: RunHistory) -> str:
    """``broker kill 12.10 to 15.10 s with persistence off``."""
    text = window.describe()
    if _targets(window, BROKER_TARGETS) and _type(window) in MEMORY_LOSING_TYPES:
        mode = persistence(window, history)
        off = mode in (None, "none", "off")
        text += " with persistence off" if off else f" with persistence {mode}"
    return text


def outage_windows(history: RunHistory) -> list[FaultWindow]:
    return [w for w in history.fault_windows if is_broker_outage(w)]


def unreachable_windows(history: RunHistory) -> list[FaultWindow]:
    return [w for w in history.fault_windows if is_broker_unreachable(w)]
