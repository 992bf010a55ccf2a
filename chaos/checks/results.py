"""``results_stored``: each executed task's result reached the result backend the app declares,
in the state the probe saw (issue 15).

The probe sees a task end; whether its result was stored (the ``django-db`` TaskResult rows the
admin shows, the Redis ``celery-task-meta-<id>`` keys) it cannot see. The runner's
``results.snapshot`` (chaos.runner.results) read the backend after the drain; this check compares.
A run with no snapshot, an unreadable backend, or no executed task fails: it proved nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chaos.checks.registry import register
from chaos.checks.verdict import Finding, Verdict, messages_by_task, verdict_from_findings
from chaos.history.model import RunHistory, TaskHistory

#: Ids named in a message before "and N more".
_SHOWN_IDS = 5


def _final_state(task: TaskHistory) -> str | None:
    """The state the last finished attempt ended in (SUCCESS, FAILURE, RETRY, ...)."""
    for attempt in reversed(task.attempts):
        if attempt.state is not None:
            return str(attempt.state)
    return None


def _ids(tasks: Sequence[TaskHistory]) -> str:
    shown = ", ".join(t.task_id for t in tasks[:_SHOWN_IDS])
    return shown + (f" and {len(tasks) - _SHOWN_IDS} more" if len(tasks) > _SHOWN_IDS else "")


def missing_results(judged: list[tuple[TaskHistory, str]], states: Mapping[str, Any],
                    backend: str | None, source: str | None) -> list[Finding]:  # fmt: skip
    """Executed tasks the backend holds nothing for, as one finding naming the backend."""
    missing = [task for task, _ in judged if states.get(task.task_id) is None]
    if not missing:
        return []
    if backend is None:
        where = ("(the app declares no result backend: result_backend is unset, and Celery's "
                 "DisabledBackend stores nothing)")  # fmt: skip
    else:
        where = f"in result backend {backend!r}" + (f" ({source})" if source else "")
    message = (f"{len(missing)} of {len(judged)} executed tasks have no stored result {where}: "
               f"{_ids(missing)} (is the backend set, and does the task set ignore_result?)")
    return [Finding(message)]


def wrong_states(judged: list[tuple[TaskHistory, str]], states: Mapping[str, Any],
                 backend: str | None) -> list[Finding]:  # fmt: skip
    """A stored state that is not the one the probe saw the task end in (None: see above)."""
    return [
        Finding(f"{task.label}: ended {state} on the worker, result backend {backend!r} holds "
                f"{states[task.task_id]}", task.task_id)  # fmt: skip
        for task, state in judged
        if states.get(task.task_id) is not None and states[task.task_id] != state
    ]


@register("results_stored")
def check_results_stored(history: RunHistory) -> Verdict:
    """Every executed task's final state is what the app's result backend stored for it."""
    judged = [(task, state) for task in history.tasks.values()
              if task.executed and (state := _final_state(task)) is not None]  # fmt: skip
    snapshot = history.meta.results_snapshot
    expected = "each executed task's result stored in the app's result backend, in its final state"
    findings: list[Finding] = []
    tasks: list[str] = []
    backend = None if snapshot is None else snapshot.get("backend")
    if snapshot is None:
        findings.append(Finding("the journal has no results.snapshot: the runner did not read "
                                "the result backend, nothing can be said"))  # fmt: skip
    elif snapshot.get("error"):
        findings.append(Finding(f"the result backend {backend!r} could not be read: "
                                f"{snapshot['error']}"))  # fmt: skip
    elif not judged:
        findings.append(Finding("no task finished an attempt: a check that looked at zero tasks "
                                "proves nothing"))  # fmt: skip
    else:
        states = snapshot.get("states") or {}
        findings += missing_results(judged, states, backend, snapshot.get("source"))
        findings += wrong_states(judged, states, backend)
        tasks = [t.task_id for t, state in judged if states.get(t.task_id) != state]
    stored = 0 if snapshot is None else sum(
        1 for task, _ in judged if (snapshot.get("states") or {}).get(task.task_id) is not None
    )
    return verdict_from_findings(
        "results_stored",
        findings,
        expected=expected,
        observed=f"{stored} of {len(judged)} executed tasks stored in {backend!r}",
        held=f"{len(judged)} executed tasks, each stored in {backend!r} in its final state",
        tasks=tasks,
        details={"backend": backend, "problems": messages_by_task(findings)},
    )
