"""The table of fault types: one registered ``FaultType`` per ``type:`` a scenario can name.

Like kombu's ``TRANSPORT_ALIASES`` or Django's app registry, the rest of the suite asks this table
(the scenario model for its union, the timeline for targets, the runner for apply/heal, the checks
for effects) instead of switching on names. A fault type that lacks a part is refused when its
module registers it, so a gap shows at import, never in the middle of a run.
"""

from __future__ import annotations

import abc
import enum
import inspect
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from chaos.errors import ChaosError
from chaos.faults.entry import TimedFault

if TYPE_CHECKING:
    from chaos.scenario.timeline import ResolvedFault
    from chaos.stack.base import Stack


class Effect(enum.Enum):
    """What a fault does to the system, as the checks need to know it."""

    UNREACHABLE = "unreachable"
    """Nothing reaches Redis: no publish, no delivery."""
    REFUSING = "refusing"
    """Publishes fail although bytes may flow (Redis or the link answers with an error)."""
    HUNG = "hung"
    """Connections open but nothing is answered (a stopped process, a black-holed link)."""
    LOSES_MEMORY = "loses_memory"
    """Redis comes back empty unless it persists to disk."""
    WORKERS_DISRUPTED = "workers_disrupted"
    """Workers are killed, stopped or their number changes: tasks in hand may be lost."""


class RegistryError(ChaosError):
    """A fault type declared incompletely or twice: a programming error, raised at import."""


@dataclass(frozen=True)
class Resolution:
    """What resolving one fault may draw on: the topology's worker names and seeded randomness."""

    fault_id: str
    worker_names: list[str]
    rng: Callable[[str], random.Random]
    """A random stream for one purpose of this fault (``rng("worker")``), fixed by the seed."""


@dataclass
class FaultContext:
    """What applying and healing act on: the run's stack and its directory.

    ``shared`` holds state a family keeps across its faults of one run (the failpoint plans),
    with ``lock`` because faults due at the same time are applied on a thread pool.
    """

    stack: Stack
    run_dir: Path
    shared: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    dilation: float = 1.0
    """App seconds per real second (chaos.clock): what a real-time part (the proxy) scales by."""


def applied_details_key(fault_id: str) -> str:
    """Where ``apply`` leaves what it found (``{"disconnected": 3}``) in ``FaultContext.shared``
    for the driver to journal with ``fault.applied``."""
    return f"applied:{fault_id}"


class FaultType(abc.ABC):
    """Everything the suite knows about one fault type, declared in one place."""

    name: ClassVar[str]
    """What a scenario writes as ``type:``, and the journal records: ``broker.kill``."""
    model: ClassVar[type[TimedFault]]
    """The pydantic model of its scenario entry (several types may share one)."""
    tag: ClassVar[str] = ""
    """The union member's tag; types sharing a model share a tag. ``kind:<name>`` if empty."""
    past_tense: ClassVar[str]
    """How reports say it happened, after the family's name: ``killed`` (``broker killed``)."""
    label: ClassVar[str]
    """One line for listings: what the fault does to the system."""
    records_persistence: ClassVar[bool] = False
    """Whether ``fault.applied`` records the broker's persistence (what a restart keeps)."""

    @property
    def union_tag(self) -> str:
        return self.tag or f"kind:{self.name}"

    @abc.abstractmethod
    def resource(self, fault: Any) -> str | None:
        """What the fault takes hold of; two faults on one resource at once contradict.
        None when it stacks with anything (a toxic)."""

    @abc.abstractmethod
    def resolve(self, fault: Any, resolution: Resolution) -> tuple[str, dict[str, Any]]:
        """The timeline's target (``broker``, ``proxy``, a worker, a failpoint) and params."""

    @abc.abstractmethod
    def apply(self, context: FaultContext, fault: ResolvedFault) -> None:
        """Make the fault take effect on the stack."""

    @abc.abstractmethod
    def heal(self, context: FaultContext, fault: ResolvedFault) -> None:
        """Undo it (instantaneous faults have nothing to undo)."""

    @abc.abstractmethod
    def effects(self, params: Mapping[str, Any]) -> frozenset[Effect]:
        """What the fault does to the system, from its recorded params (a toxic's depend on its
        type and toxicity)."""


_REGISTRY: dict[str, FaultType] = {}


def register(cls: type[FaultType]) -> type[FaultType]:
    """Class decorator: add one fault type to the table, refusing an incomplete declaration."""
    missing = sorted(getattr(cls, "__abstractmethods__", ()))
    for attribute in ("name", "model", "past_tense", "label"):
        if not hasattr(cls, attribute):
            missing.append(attribute)
    if missing or inspect.isabstract(cls):
        raise RegistryError(f"fault type {cls.__name__} does not declare: {', '.join(missing)}")
    if cls.name in _REGISTRY:
        raise RegistryError(f"fault type {cls.name!r} is registered twice")
    if not issubclass(cls.model, TimedFault):
        raise RegistryError(f"{cls.name}: its model must be a TimedFault")
    registered = cls()
    for other in _REGISTRY.values():
        if other.union_tag == registered.union_tag and other.model is not registered.model:
            raise RegistryError(
                f"{cls.name} shares the tag {registered.union_tag!r} of {other.name} "
                "but not its model: types that share a tag share a model"
            )
    _REGISTRY[cls.name] = registered
    return cls


def fault_types() -> Mapping[str, FaultType]:
    """Every registered fault type by name, in registration order."""
    return dict(_REGISTRY)


def fault_type(name: str) -> FaultType | None:
    return _REGISTRY.get(name)


def past_tense(kind: str) -> str:
    """``killed`` for ``broker.kill``: the words reports use after the family.

    Accepts the bare verb of older journals (``kill``); unknown kinds come back as given.
    """
    found = _REGISTRY.get(kind)
    if found is not None:
        return found.past_tense
    verb = kind.rpartition(".")[2]
    for registered in _REGISTRY.values():
        if registered.name.rpartition(".")[2] == verb:
            return registered.past_tense
    return verb
