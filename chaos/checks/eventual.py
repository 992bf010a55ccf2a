"""Eventually executed: every task the app tried to send ran in the end, whatever the broker said.

This is the promise a user reads in "things resume once Redis is back": not that the broker
kept what it accepted (``no_lost``) but that the work the app asked for got done. On the naive
path a publish refused during an outage is dropped (the order is saved, its invoice never
sent); on the durable path the outbox keeps it. A run in which no task was tried proves nothing
and fails.
"""

from __future__ import annotations

from collections.abc import Sequence

from chaos.checks.registry import register
from chaos.checks.verdict import Finding, Verdict, verdict_from_findings
from chaos.history.model import RunHistory, TaskHistory, format_seconds


def tried_tasks(history: RunHistory, path: str | None) -> list[TaskHistory]:
    """Tasks the app tried to send (on ``path``, if given), in the history's order."""
    return [
        task for task in history.tasks.values()
        if task.enqueues and (path is None or path in task.paths)
    ]  # fmt: skip


def _how_it_was_sent(task: TaskHistory) -> str:
    first = min(task.enqueues, key=lambda e: e.at)
    answers = sorted({e.outcome for e in task.enqueues if e.outcome != "tried"})
    said = ", ".join(answers) if answers else "no answer"
    return f"tried at {format_seconds(first.at)} ({said})"


def never_executed(history: RunHistory, tasks: Sequence[TaskHistory]) -> list[Finding]:
    """A tried task no worker ever started."""
    return [
        Finding(
            f"{task.label}: {_how_it_was_sent(task)}, never executed",
            task.task_id,
            tuple(history.windows_for_task(task)),
        )
        for task in tasks
        if not task.executed
    ]


@register("eventually_executed")
def check_eventually_executed(history: RunHistory, path: str | None = None) -> Verdict:
    """Every task the app tried to send (on ``path``) executed by the end of the run."""
    tasks = tried_tasks(history, path)
    scope = f" on the {path} path" if path else ""
    findings = never_executed(history, tasks)
    if not tasks:
        findings = [Finding(f"no task was tried{scope}: nothing to judge, so nothing held")]
    ran = len(tasks) - len(findings) if tasks else 0
    return verdict_from_findings(
        "eventually_executed",
        findings,
        expected=f"every task tried{scope} executed in the end (at least 1 tried)",
        observed=f"{ran} of {len(tasks)} tried{scope} executed; "
        f"{len(tasks) - ran} never executed",
        held=f"all {len(tasks)} tasks tried{scope} executed",
        details={"tried": len(tasks), "executed": ran, "never_executed": len(tasks) - ran},
    )
