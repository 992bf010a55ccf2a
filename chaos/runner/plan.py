"""The run's plan as the journal records it (``run.plan``), written before the workload starts.

What the run means to do, from its resolved timeline: the messages each stream sends, and the
faults and failpoints it applies with their ids. ``chaos.history.completeness`` holds the journal
to it: a workload that tried fewer publishes, a fault never applied or healed, a failpoint that
never fired; without a plan those would pass as a quiet run.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from chaos.checks.judge import ALLOW_UNEXERCISED
from chaos.scenario import Scenario
from chaos.scenario.timeline import ResolvedTimeline


def run_plan(timeline: ResolvedTimeline) -> dict[str, Any]:
    """The ``run.plan`` event's data for ``timeline``."""
    by_path: Counter[str] = Counter()
    streams = []
    for stream in timeline.workload:
        by_path[stream.path] += stream.count
        streams.append({"index": stream.index, "path": stream.path, "task": stream.task,
                        "count": stream.count})  # fmt: skip
    faults = [
        {"fault_id": f.fault_id, "type": f.type, "target": f.target, "start_event": f.start_event,
         "start_offset": f.start_offset, "end": f.end.kind}
        for f in timeline.faults
    ]  # fmt: skip
    failpoints = [
        {"fault_id": f.fault_id, "name": f.target, "end": f.end.kind}
        for f in timeline.faults
        if f.type == "failpoint"
    ]
    return {
        "messages": sum(by_path.values()),
        "by_path": dict(by_path),
        "streams": streams,
        "faults": faults,
        "failpoints": failpoints,
    }


def expectations_of(scenario: Scenario) -> list[dict[str, Any]]:
    """The scenario's expectations as ``run_checks`` takes them, each given the scenario's own
    ``allow_unexercised`` (so that the report, and ``chaos check`` from it, keep it)."""
    entries = [e.as_entry() for e in scenario.expect]
    if scenario.allow_unexercised:
        entries = [{ALLOW_UNEXERCISED: True, **entry} for entry in entries]
    return entries
