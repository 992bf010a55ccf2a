"""Invariant ``no_lost``: no task the broker accepted is lost, except what the broker's
persistence explains (named as such).

Reuses the delivery classification (``chaos.checks.delivery``): a lost task whose reason is the
broker's memory (a kill or restart with persistence off; with ``everysec``, a publish accepted in
the last second before the kill) is explained; a delayed task (unacknowledged in Redis, back after
visibility_timeout) is reported, not failed; any other loss fails.
"""

from __future__ import annotations

from chaos.checks.allowance import machine_allowance
from chaos.checks.delivery import classify
from chaos.checks.faults import Effect, effects, loses_broker_memory, persistence
from chaos.checks.registry import register_invariant
from chaos.checks.verdict import Finding, Verdict, verdict_from_findings
from chaos.history.model import RunHistory, TaskHistory

#: Redis's ``appendfsync everysec`` may lose the last second of writes on a kill (real s: Redis
#: keeps real time under a dilated clock, so N app seconds there).
EVERYSEC_SECONDS = 1.0


def _explained_by_persistence(history: RunHistory, task: TaskHistory) -> bool:
    accepted = task.accepted_at
    if accepted is None:
        return False
    for window in history.fault_windows:
        if window.start < accepted:
            continue
        if loses_broker_memory(window, history):
            return True
        if (
            Effect.LOSES_MEMORY in effects(window)
            and persistence(window, history) == "everysec"
            and window.start - accepted <= machine_allowance(history, EVERYSEC_SECONDS)
        ):
            return True
    return False


@register_invariant("no_lost")
def check_no_lost_invariant(history: RunHistory) -> Verdict:
    """No accepted task lost beyond what the broker's persistence explains."""
    delivery = classify(history)
    findings = []
    explained = []
    for task in delivery.by_category["lost"]:
        if _explained_by_persistence(history, task):
            explained.append(task.task_id)
            continue
        windows = tuple(delivery.windows.get(task.task_id, ()))
        findings.append(Finding(delivery.reasons[task.task_id], task.task_id, windows))
    delayed = len(delivery.by_category["delayed"])
    observed = f"lost {len(findings)}, lost with the broker's memory {len(explained)}, " \
               f"delayed {delayed} of {delivery.promised} accepted"  # fmt: skip
    held = f"all {delivery.promised} accepted tasks executed"
    if explained or delayed:
        held = f"no unexplained loss: {observed}"
    return verdict_from_findings(
        "no_lost",
        findings,
        expected="lost 0 beyond the broker's persistence",
        observed=observed,
        held=held,
        details={"lost_with_broker_memory": explained,
                 "delayed": [t.task_id for t in delivery.by_category["delayed"]]},
    )  # fmt: skip
