"""The "not exercised" verdict: a check that held on a run that never tested what it promises.

A check that looked at zero tasks, or held on a run whose planned failpoint never fired or whose
fault found nothing to act on (a disconnect with no client, no pool process to kill), proves
nothing: "all 0 accepted tasks executed" is not a pass. ``judge`` turns such a held verdict into
the status "not exercised", which fails the gate unless its expectation (or the scenario, which
passes it to each of its expectations) says ``allow_unexercised: true``; an allowed one stays
held and keeps its reasons in the report. A verdict that failed on its own keeps its failure.
"""

from __future__ import annotations

from collections.abc import Sequence

from chaos.checks.verdict import Verdict
from chaos.history.completeness import failpoints_never_fired, faults_that_found_nothing
from chaos.history.model import RunHistory

#: An expectation's own switch (taken by no check): a run that did not exercise it may still hold.
ALLOW_UNEXERCISED = "allow_unexercised"


def judge(history: RunHistory, verdicts: Sequence[Verdict]) -> list[Verdict]:
    """``verdicts`` with each held one the run did not exercise marked (see the module)."""
    plan = history.meta.plan
    run_reasons = failpoints_never_fired(history, plan) if plan is not None else []
    run_reasons += faults_that_found_nothing(history)
    for verdict in verdicts:
        if not verdict.ok:
            continue
        reasons = list(run_reasons)
        looked_at = tasks_looked_at(history, verdict.params.get("task"))
        if looked_at == 0:
            named = verdict.params.get("task")
            reasons.insert(0, "it looked at zero tasks" + (f" named {named}" if named else ""))
        if not reasons:
            continue
        verdict.unexercised = reasons
        if not verdict.params.get(ALLOW_UNEXERCISED):
            verdict.ok = False
            more = f" (and {len(reasons) - 1} more)" if len(reasons) > 1 else ""
            verdict.message = f"not exercised: {reasons[0]}{more}; was: {verdict.message}"
    return list(verdicts)


def tasks_looked_at(history: RunHistory, task: object) -> int:
    """The tasks an expectation could judge: those named ``task`` (as the checks match a name,
    by its end), else every task the journal knows."""
    if not isinstance(task, str):
        return len(history.tasks)
    return sum(1 for t in history.tasks.values() if (t.name or "").endswith(task))
