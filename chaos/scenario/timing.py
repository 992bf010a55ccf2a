"""When faults start and end, as far as the file alone tells: the rules a timeline must keep.

A fault that starts at or after the run's ``timeout`` never runs, and ``after:`` references that
go round in a circle never start; both would fail the gate as if the app broke, so ``chaos
validate`` refuses them. Times tied to what the system does (``first_task_started``) are known
only during the run; these rules judge the part known before it (the offsets).
"""

from __future__ import annotations

import math
from typing import Any

from chaos.errors import Problem
from chaos.scenario.durations import format_duration
from chaos.scenario.model import RandomRange, Scenario
from chaos.scenario.source import SourceDocument

Span = tuple[float, float]
"""Earliest and latest time of a start or an end, in seconds from the run's start."""


def static_spans(scenario: Scenario) -> dict[int, tuple[Span, Span]]:
    """(start, end) spans of the faults whose times are known before the run: those with
    ``at:``, and those ``after:`` another such fault's ``.applied`` or ``.healed``. Faults tied
    to what the system does (``first_task_started``, ``until:``) have no static span."""
    index_of = {fault_id: index for index, fault_id in enumerate(scenario.fault_ids())}
    spans: dict[int, tuple[Span, Span]] = {}
    for _ in range(len(scenario.faults)):  # each pass resolves one more link of an after: chain
        for index, fault in enumerate(scenario.faults):
            if index in spans:
                continue
            start = _start_span(fault, spans, index_of)
            if start is not None:
                spans[index] = (start, _end_span(fault, start))
    return spans


def _start_span(
    fault: Any, spans: dict[int, tuple[Span, Span]], index_of: dict[str, int]
) -> Span | None:
    if isinstance(fault.at, RandomRange):
        return fault.at.between
    if fault.at is not None:
        return (fault.at, fault.at)
    event, offset = fault.after_event
    reference, _, edge = event.rpartition(".")
    if edge not in ("applied", "healed") or index_of.get(reference) not in spans:
        return None
    started, ended = spans[index_of[reference]]
    base = started if edge == "applied" else ended
    if math.isinf(base[1]) and edge == "healed":
        return None  # healed only at the end of the run: nothing after it to contradict
    return (base[0] + offset, base[1] + offset)


def _end_span(fault: Any, start: Span) -> Span:
    if fault.instantaneous:
        return start
    if fault.for_ is not None:
        return (start[0] + fault.for_, start[1] + fault.for_)
    if fault.until is not None:
        return (start[0], start[1] + fault.deadline)
    return (math.inf, math.inf)


def _referenced_fault(fault: Any, index_of: dict[str, int]) -> int | None:
    """The index of the fault whose ``.applied``/``.healed`` this fault starts after, if any."""
    if fault.after_event is None:
        return None
    reference, _, edge = fault.after_event[0].rpartition(".")
    return index_of.get(reference) if edge in ("applied", "healed") else None


def after_cycles(scenario: Scenario) -> list[list[int]]:
    """Each circle of two or more faults whose ``after:`` name one another, as fault indexes
    from the lowest (a fault after itself is reported on its own)."""
    index_of = {fault_id: index for index, fault_id in enumerate(scenario.fault_ids())}
    follows = {
        index: _referenced_fault(fault, index_of) for index, fault in enumerate(scenario.faults)
    }
    cycles: list[list[int]] = []
    seen: set[int] = set()
    for first in range(len(scenario.faults)):
        chain: list[int] = []
        current: int | None = first
        while current is not None and current not in chain and current not in seen:
            chain.append(current)
            current = follows[current]
        seen.update(chain)
        if current is not None and current in chain:
            cycle = chain[chain.index(current) :]
            if len(cycle) > 1:
                lowest = cycle.index(min(cycle))
                cycles.append(cycle[lowest:] + cycle[:lowest])
    return cycles


def check_after_cycles(scenario: Scenario, document: SourceDocument) -> list[Problem]:
    ids = scenario.fault_ids()
    problems = []
    for cycle in after_cycles(scenario):
        circle = " -> ".join([*(f"{ids[index]}.after" for index in cycle), ids[cycle[0]]])
        problems.append(
            document.problem(
                ("faults", cycle[0], "after"),
                f"after: references form a cycle, so none of these faults ever starts: {circle}",
                hint="start one of them at: a time or after: a run event",
            )
        )
    return problems


def _earliest_starts(scenario: Scenario) -> dict[int, float]:
    """The earliest each ``after:``-a-run-event chain can start: the sum of its offsets (the
    events themselves happen at the run's start or later, when is known only during the run)."""
    index_of = {fault_id: index for index, fault_id in enumerate(scenario.fault_ids())}
    earliest: dict[int, float] = {}
    in_cycle = {index for cycle in after_cycles(scenario) for index in cycle}

    def start_of(index: int, visiting: frozenset[int]) -> float | None:
        if index in earliest:
            return earliest[index]
        fault = scenario.faults[index]
        if index in visiting or index in in_cycle or fault.after_event is None:
            return None
        event, offset = fault.after_event
        reference = _referenced_fault(fault, index_of)
        if reference is None:
            found = offset  # a run event: at the run's start at the soonest
        else:
            base = start_of(reference, visiting | {index})
            if base is None:
                return None
            if event.endswith(".healed"):
                referenced = scenario.faults[reference]
                base += referenced.for_ if referenced.for_ is not None else 0.0
            found = base + offset
        earliest[index] = found
        return found

    for index in range(len(scenario.faults)):
        start_of(index, frozenset())
    return earliest


def check_starts_before_timeout(scenario: Scenario, document: SourceDocument) -> list[Problem]:
    timeout = scenario.timeout
    spans = static_spans(scenario)
    earliest = _earliest_starts(scenario)
    problems = []
    limit = f"the scenario's timeout is {format_duration(timeout)}"
    for index, fault in enumerate(scenario.faults):
        if index in spans:
            latest = spans[index][0][1]
            if latest < timeout:
                continue
            field = "at" if fault.at is not None else "after"
            how = (
                "the upper end of its range"
                if isinstance(fault.at, RandomRange)
                else "its start"
                if fault.at is not None
                else "its start along the after: chain"
            )
            problems.append(
                document.problem(
                    ("faults", index, field),
                    f"this fault would start at or after the run's timeout: {how} is "
                    f"{format_duration(latest)} and {limit}",
                    expected=f"a start before {format_duration(timeout)}",
                    hint="start it earlier, or give the scenario a longer timeout",
                )
            )
        elif index in earliest and earliest[index] >= timeout:
            problems.append(
                document.problem(
                    ("faults", index, "after"),
                    "this fault would start at or after the run's timeout: its after: offsets "
                    f"alone add up to {format_duration(earliest[index])} (when the events "
                    f"happen is known only during the run; this is the soonest) and {limit}",
                    expected=f"offsets adding up to less than {format_duration(timeout)}",
                    hint="start it earlier, or give the scenario a longer timeout",
                )
            )
    for index, stream in enumerate(scenario.workload):
        ranged = isinstance(stream.at, RandomRange)
        latest = stream.at.between[1] if isinstance(stream.at, RandomRange) else stream.at
        if latest >= timeout:
            problems.append(
                document.problem(
                    ("workload", index, "at"),
                    "this stream would start sending at or after the run's timeout: "
                    + ("the upper end of its range" if ranged else "its start")
                    + f" is {format_duration(latest)} and {limit}",
                    expected=f"a start before {format_duration(timeout)}",
                    hint="start it earlier, or give the scenario a longer timeout",
                )
            )
    return problems
