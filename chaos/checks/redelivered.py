"""Check ``redelivered``: the fault reached messages a worker held, so the scenario tested what it
set up (a lower bound, like ``duplicates``' ``at_least``).

A scenario whose trigger is "reset the connections while the worker holds the tasks" (ETA tasks
run twice after a reset, celery 5.6.1-5.6.2) proves nothing on a run where the reset came before
the worker took them: nothing was restored, nothing redelivered, and every promise holds by
accident. Redis hands a held message out again only through the restore on a channel's close or
after ``visibility_timeout``; the probe's ``task.received`` says ``redelivered``. Too few is "not
exercised", not a broken promise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chaos.checks.registry import register
from chaos.checks.verdict import Verdict
from chaos.errors import Problem
from chaos.history.model import RunHistory


def _problems(params: Mapping[str, Any]) -> list[Problem]:
    value = params.get("at_least", 1)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return [Problem("wrong type or value", field_path="at_least", given=repr(value),
                        expected="a whole number of tasks, at least 1")]  # fmt: skip
    return []


@register("redelivered", validate=_problems)
def check_redelivered(history: RunHistory, at_least: int = 1) -> Verdict:
    """At least ``at_least`` tasks were handed to a worker again (``redelivered``)."""
    again = [t.task_id for t in history.tasks.values() if any(r.redelivered for r in t.receipts)]
    observed = f"{len(again)} tasks received again"
    expected = f"at least {at_least} tasks redelivered to a worker"
    if len(again) >= at_least:
        return Verdict("redelivered", True, expected, observed,
                       f"{len(again)} tasks redelivered: the fault reached messages the workers "
                       "held", tasks=again)  # fmt: skip
    reason = (f"only {len(again)} of the at least {at_least} tasks expected were redelivered: the "
              "fault did not reach messages a worker held")  # fmt: skip
    return Verdict("redelivered", False, expected, observed, f"not exercised: {reason}",
                   tasks=again, unexercised=[reason])  # fmt: skip
