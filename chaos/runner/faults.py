"""Applying and healing each fault of a run on its stack, every step journaled.

What a fault type does and undoes is declared with the type (``chaos.faults``); this driver looks
the type up, runs it, and journals ``fault.applied`` right after the fault took effect and
``fault.healed`` right after it was undone, so the fault windows in the history are the windows
the system really saw.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chaos.errors import ChaosError, StackError
from chaos.faults import FaultContext, FaultType, fault_type
from chaos.faults.registry import applied_details_key
from chaos.faults.failpoint import armed_plans
from chaos.journal import Event, JournalWriter
from chaos.scenario.timeline import ResolvedFault
from chaos.stack.base import Stack


class FaultDriver:
    """Applies and heals the faults of one run on its stack."""

    def __init__(self, stack: Stack, journal: JournalWriter, run_dir: Path,
                 persistence: str, dilation: float = 1.0) -> None:  # fmt: skip
        self.stack = stack
        self.journal = journal
        self.run_dir = run_dir
        self.persistence = persistence
        self.context = FaultContext(stack=stack, run_dir=run_dir, dilation=dilation)

    @property
    def armed_plans(self) -> dict[str, dict[str, Any]]:
        """The failpoint plans armed now, by failpoint name."""
        return armed_plans(self.context)

    def apply(self, fault: ResolvedFault) -> Event:
        """Apply the fault; its ``fault.applied`` event (whose time every output shows)."""
        registered = _registered(fault)
        try:
            registered.apply(self.context, fault)
        except ChaosError as exc:
            raise StackError(
                fault.target, f"could not apply {fault.type} ({fault.fault_id}): {exc}"
            ) from exc
        params = dict(fault.params)
        with self.context.lock:
            params.update(self.context.shared.pop(applied_details_key(fault.fault_id), {}))
        if registered.records_persistence:
            params["persistence"] = self.persistence
        applied = self.journal.write("fault.applied", fault_id=fault.fault_id, type=fault.type,
                                     target=fault.target, params=params)  # fmt: skip
        if fault.end.kind == "instant":
            self.journal.write("fault.healed", fault_id=fault.fault_id, type=fault.type,
                               target=fault.target, how="instant")  # fmt: skip
        return applied

    def heal(self, fault: ResolvedFault, how: str) -> Event:
        """Undo the fault; its ``fault.healed`` event."""
        registered = _registered(fault)
        try:
            registered.heal(self.context, fault)
        except ChaosError as exc:
            raise StackError(
                fault.target, f"could not heal {fault.type} ({fault.fault_id}): {exc}"
            ) from exc
        return self.journal.write("fault.healed", fault_id=fault.fault_id, type=fault.type,
                                  target=fault.target, how=how)  # fmt: skip


def _registered(fault: ResolvedFault) -> FaultType:
    registered = fault_type(fault.type)
    if registered is None:
        # A recorded timeline replayed by a suite that no longer has this fault type.
        raise StackError(
            fault.target,
            f"unknown fault type {fault.type!r} ({fault.fault_id})",
            hint="replay it with the version of the suite that recorded it",
        )
    return registered
