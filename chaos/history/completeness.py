"""Whether a journal can back a verdict: what is missing from it, and what the run never exercised.

A verdict judged on a journal that lost events, or on a run that did not do what it planned, says
more than the journal can prove (a run killed in its drain "loses" every task still queued; a
workload that crashed "executed all 0 accepted tasks"). ``assess`` is a pure function over a
``RunHistory`` and says, in words a person can act on:

- ``missing``: the journal is incomplete and no verdict may come from it: a writer's ``seq`` has a
  gap, a line was cut short, fewer publishes were tried than the plan said, a planned fault was
  never applied or never healed, or the run has no ``run.finished``;
- ``unexercised``: the run is complete but did not test what it meant to: a planned failpoint
  never fired, or a fault found nothing to act on (a disconnect with no client).
  ``chaos.checks.judge`` turns these into the verdict status "not exercised".

Journals from before plans and sequence numbers have neither: what they lack is not held
against them, but a started run must still have finished.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from chaos.history.model import RunHistory


@dataclass(frozen=True)
class Completeness:
    missing: list[str] = field(default_factory=list)
    unexercised: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing

    def describe(self) -> str:
        """``incomplete journal: a; b``: how the runner and ``chaos check`` say it."""
        return "incomplete journal: " + "; ".join(self.missing)


def assess(history: RunHistory) -> Completeness:
    """What ``history`` lacks to back a verdict, and what its run never exercised."""
    missing = list(history.damage)
    missing += sequence_gaps(history.writer_seqs)
    plan = history.meta.plan
    if plan is not None:
        missing += plan_not_carried_out(history, plan)
    if history.meta.run_id is not None and history.meta.finished_at is None:
        missing.append("no run.finished: the run did not get to the end of its drain "
                       "(killed, or its runner crashed)")  # fmt: skip
    unexercised = failpoints_never_fired(history, plan) if plan is not None else []
    unexercised += faults_that_found_nothing(history)
    return Completeness(missing, unexercised)


def require_complete(history: RunHistory) -> Completeness:
    """``assess(history)``, or a StackError naming what is missing when the journal cannot back
    a verdict: exit 3, "incomplete journal: ...", never a verdict."""
    from chaos.errors import StackError

    completeness = assess(history)
    if not completeness.complete:
        raise StackError("journal", completeness.describe(),
                         hint="no verdict from an incomplete journal")  # fmt: skip
    return completeness


def sequence_gaps(writer_seqs: dict[str, list[int]]) -> list[str]:
    """``writer/pid lost events 4-6 of 0-12``: each writer whose sequence is not 0, 1, 2 ..."""
    gaps = []
    for writer, seqs in sorted(writer_seqs.items()):
        present = set(seqs)
        absent = sorted(set(range(max(present) + 1)) - present)
        if absent:
            gaps.append(f"{writer} lost {len(absent)} event(s) (seq {_ranges(absent)} of "
                        f"0-{max(present)})")  # fmt: skip
    return gaps


def plan_not_carried_out(history: RunHistory, plan: dict) -> list[str]:
    missing = []
    planned = int(plan.get("messages") or 0)
    tried = {e.task_id or e.key for e in history.producer_events if e.kind == "enqueue.tried"}
    if len(tried) < planned:
        by_path = Counter(e.path for e in history.producer_events if e.kind == "enqueue.tried")
        wanted = plan.get("by_path") or {}
        detail = ", ".join(f"{path} {by_path.get(path, 0)} of {count}"
                           for path, count in sorted(wanted.items()))  # fmt: skip
        missing.append(f"the workload tried {len(tried)} of the {planned} publishes planned"
                       + (f" ({detail})" if detail else "")
                       + ": it crashed, was cut short or could not reach the app")  # fmt: skip
    windows = {w.fault_id: w for w in history.fault_windows}
    for fault in plan.get("faults") or ():
        fault_id = fault.get("fault_id")
        window = windows.get(fault_id)
        if window is None:
            missing.append(f"fault {fault_id} ({fault.get('type')}) was planned and never "
                           "applied")  # fmt: skip
        elif window.end is None:
            missing.append(f"fault {fault_id} ({fault.get('type')}) was applied and never healed")
    return missing


def failpoints_never_fired(history: RunHistory, plan: dict) -> list[str]:
    """Each planned failpoint (by name) that no hit fired while it was armed."""
    fired = {firing.name for firing in history.failpoint_firings}
    applied = {w.fault_id for w in history.fault_windows}
    silent = []
    for failpoint in plan.get("failpoints") or ():
        name = failpoint.get("name")
        if name in fired or failpoint.get("fault_id") not in applied:
            continue  # a fault never applied is missing, said above
        silent.append(f"failpoint {name} (fault {failpoint.get('fault_id')}) was armed and "
                      "never fired")  # fmt: skip
    return list(dict.fromkeys(silent))


#: What a fault journals it acted on, and how to say it acted on nothing.
ACTED_ON = {"disconnected": "found no client connection to close",
            "killed": "found no pool process to kill"}  # fmt: skip


def faults_that_found_nothing(history: RunHistory) -> list[str]:
    """Each applied fault that journaled it acted on nothing (``disconnected: 0``, ``killed: 0``)."""
    found = []
    for window in history.fault_windows:
        for key, said in ACTED_ON.items():
            if window.params.get(key) == 0:
                detail = ", ".join(f"{name}: {window.params[name]}" for name in ("clients", "task")
                                   if window.params.get(name))  # fmt: skip
                found.append(f"fault {window.fault_id} ({window.type}"
                             + (f", {detail}" if detail else "") + f") {said}")  # fmt: skip
    return found


def _ranges(numbers: Iterable[int]) -> str:
    """``4-6, 9``: sorted numbers as runs."""
    runs: list[list[int]] = []
    for number in numbers:
        if runs and number == runs[-1][1] + 1:
            runs[-1][1] = number
        else:
            runs.append([number, number])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
