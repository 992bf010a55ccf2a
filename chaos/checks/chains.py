"""Invariant ``chains``: a chain link that succeeded hands on to the next one.

The producer journals a chain's children (name and task id, in run order) with the head's
publish; a link that succeeded implies its child is published and runs, whatever happened to the
worker after the success (a worker killed between storing the result and acknowledging the message,
a redelivered copy deduplicated by ``worker_deduplicate_successful_tasks``). A child never received
nor started by the run's end, after its parent's success, is a lost link; one a worker died
holding is delayed (kombu gives it back after ``visibility_timeout``), not lost. Written for
celery#9835 (fixed by #10159 in 5.6.3: the deduplication fast path skipped the chain).
"""

from __future__ import annotations

from chaos.checks.delivery import chain_children
from chaos.checks.held import restored_at
from chaos.checks.registry import register_invariant
from chaos.checks.verdict import Finding, Verdict, verdict_from_findings
from chaos.history.model import RunHistory, TaskHistory, format_seconds


def _succeeded_at(task: TaskHistory | None) -> float | None:
    if task is None:
        return None
    ends = [a.ended_at for a in task.attempts if a.outcome == "success" and a.ended_at is not None]
    return min(ends) if ends else None


@register_invariant("chains")
def check_chains(history: RunHistory) -> Verdict:
    """Every chain child whose parent succeeded ran (or waits in Redis for a dead worker)."""
    findings = []
    judged = delayed = 0
    for child_id, (parent_id, name) in chain_children(history).items():
        parent = history.tasks.get(parent_id)
        succeeded = _succeeded_at(parent)
        if parent is None or succeeded is None:
            continue  # a parent that never succeeded implies nothing (no_lost judges it)
        judged += 1
        child = history.tasks.get(child_id)
        if child is not None and child.executions:
            continue
        short = name.rsplit(".", 1)[-1]
        lead = f"chain child {short}[{child_id}] of {parent.label}"
        if child is None or not child.receipts:
            said = (f"{lead} never published: its parent succeeded at "
                    f"{format_seconds(succeeded)}, and no worker received the child")  # fmt: skip
        else:
            if restored_at(history, child, 0) is not None:
                # Held by a worker that died: it waits in Redis's unacked hash for kombu's
                # restore (visibility_timeout, then a scan up to ~100 s later on kombu 5.6).
                delayed += 1
                continue
            said = (f"{lead} received at {format_seconds(child.receipts[0].at)} but never "
                    f"started (its parent succeeded at {format_seconds(succeeded)})")  # fmt: skip
        findings.append(Finding(said, parent_id, tuple(history.windows_around(succeeded, None))))
    return verdict_from_findings(
        "chains",
        findings,
        expected="each chain child runs once its parent succeeded",
        observed=f"{len(findings)} of {judged} chain children lost after their parent succeeded"
        + (f"; {delayed} delayed until visibility_timeout (a worker died holding it)"
           if delayed else ""),
        held=f"{judged} chain children implied by a parent's success, each ran"
        + (f" or waits for visibility_timeout ({delayed})" if delayed else ""),
    )
