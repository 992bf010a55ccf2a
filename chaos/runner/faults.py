"""Applying and healing each fault type on a stack, every step journaled.

One place maps a resolved fault (``broker.kill``, ``proxy.toxic``, ``failpoint`` ...) to the
stack handle calls that do it and the calls that undo it. ``fault.applied`` is written right after
the fault took effect and ``fault.healed`` right after it was undone, so the fault windows in the
history are the windows the system really saw.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from chaos import failpoints
from chaos.errors import ChaosError, StackError
from chaos.journal import JournalWriter
from chaos.scenario.timeline import ResolvedFault
from chaos.stack.base import Stack


class FaultDriver:
    """Applies and heals the faults of one run on its stack."""

    def __init__(self, stack: Stack, journal: JournalWriter, run_dir: Path,
                 persistence: str) -> None:  # fmt: skip
        self.stack = stack
        self.journal = journal
        self.run_dir = run_dir
        self.persistence = persistence
        self.armed_plans: dict[str, dict[str, Any]] = {}
        self._failpoints_lock = threading.Lock()

    # --- public ------------------------------------------------------------------------------

    def apply(self, fault: ResolvedFault) -> None:
        action = getattr(self, "_apply_" + fault.type.replace(".", "_"))
        try:
            action(fault)
        except ChaosError as exc:
            raise StackError(
                fault.target, f"could not apply {fault.type} ({fault.fault_id}): {exc}"
            ) from exc
        params = dict(fault.params)
        if fault.type.startswith("broker."):
            params["persistence"] = self.persistence
        self.journal.write("fault.applied", fault_id=fault.fault_id, type=fault.type,
                           target=fault.target, params=params)  # fmt: skip
        if fault.end.kind == "instant":
            self.journal.write("fault.healed", fault_id=fault.fault_id, type=fault.type,
                               target=fault.target, how="instant")  # fmt: skip

    def heal(self, fault: ResolvedFault, how: str) -> None:
        action = getattr(self, "_heal_" + fault.type.replace(".", "_"))
        try:
            action(fault)
        except ChaosError as exc:
            raise StackError(
                fault.target, f"could not heal {fault.type} ({fault.fault_id}): {exc}"
            ) from exc
        self.journal.write("fault.healed", fault_id=fault.fault_id, type=fault.type,
                           target=fault.target, how=how)  # fmt: skip

    # --- broker --------------------------------------------------------------------------------

    def _apply_broker_kill(self, fault: ResolvedFault) -> None:
        self.stack.broker.kill()

    def _apply_broker_stop(self, fault: ResolvedFault) -> None:
        self.stack.broker.stop()

    def _apply_broker_pause(self, fault: ResolvedFault) -> None:
        self.stack.broker.pause()

    def _apply_broker_restart(self, fault: ResolvedFault) -> None:
        self.stack.broker.restart()

    def _heal_broker_kill(self, fault: ResolvedFault) -> None:
        if not self.stack.broker.is_running():
            self.stack.broker.start()

    _heal_broker_stop = _heal_broker_kill

    def _heal_broker_pause(self, fault: ResolvedFault) -> None:
        self.stack.broker.resume()

    # --- proxy ---------------------------------------------------------------------------------

    def _apply_proxy_down(self, fault: ResolvedFault) -> None:
        self.stack.proxy.disable()

    def _heal_proxy_down(self, fault: ResolvedFault) -> None:
        self.stack.proxy.enable()

    def _apply_proxy_toxic(self, fault: ResolvedFault) -> None:
        params = fault.params
        self.stack.proxy.add_toxic(
            params["toxic"], name=fault.fault_id, stream=params.get("stream"),
            toxicity=params.get("toxicity", 1.0), **params.get("attributes", {}),
        )  # fmt: skip

    def _heal_proxy_toxic(self, fault: ResolvedFault) -> None:
        self.stack.proxy.remove_toxic(fault.fault_id)

    # --- workers -------------------------------------------------------------------------------

    def _workers(self, target: str) -> list[Any]:
        workers = [w for w in self.stack.workers if target in ("all", w.name)]
        if not workers:
            raise StackError("workers", f"no worker named {target!r} is running")
        return workers

    def _apply_worker_kill(self, fault: ResolvedFault) -> None:
        for worker in self._workers(fault.target):
            worker.kill()

    def _apply_worker_terminate(self, fault: ResolvedFault) -> None:
        for worker in self._workers(fault.target):
            worker.terminate(grace=float(fault.params.get("grace", 10.0)))

    def _apply_worker_restart(self, fault: ResolvedFault) -> None:
        for worker in self._workers(fault.target):
            worker.restart()

    def _heal_worker_kill(self, fault: ResolvedFault) -> None:
        for worker in self._workers(fault.target):
            if not worker.is_alive():
                worker.start()

    _heal_worker_terminate = _heal_worker_kill

    def _apply_worker_scale(self, fault: ResolvedFault) -> None:
        self.stack.scale(int(fault.params["count"]))

    def _heal_worker_scale(self, fault: ResolvedFault) -> None:
        self.stack.scale(int(fault.params["topology_count"]))

    # --- failpoints ----------------------------------------------------------------------------

    # Faults due at the same time are applied on a thread pool: arming two failpoints at once must
    # not lose one plan, so the change to armed_plans and its write happen under one lock.

    def _apply_failpoint(self, fault: ResolvedFault) -> None:
        with self._failpoints_lock:
            self.armed_plans[fault.target] = {"arming": fault.fault_id, **fault.params}
            failpoints.write_plans(self.run_dir, self.armed_plans)

    def _heal_failpoint(self, fault: ResolvedFault) -> None:
        with self._failpoints_lock:
            self.armed_plans.pop(fault.target, None)
            failpoints.write_plans(self.run_dir, self.armed_plans)
