"""The workload's own verdict: requests the app answered with a status the scenario did not expect,
or (the naive path) answered without sending the order's task.

A run whose workload the app refused (a 400 for a Host it does not allow, a 404 for a wrong URL)
sent nothing to judge; without this verdict it would pass as "all 0 accepted tasks executed".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chaos.checks.verdict import Verdict
from chaos.http_workload import UNEXPECTED_KIND


def unexpected_verdict(events: Iterable[Any]) -> Verdict | None:
    """A failed ``workload`` verdict naming the unexpected answers, or None when there were none."""
    unexpected = [event for event in events if event.kind == UNEXPECTED_KIND]
    if not unexpected:
        return None
    first = dict(unexpected[0].data)
    statuses = sorted({str(e.data.get("status")) for e in unexpected})
    return Verdict(
        name="workload",
        ok=False,
        expected="every request of the workload answered with an expected status",
        observed=f"{len(unexpected)} unexpected answer(s): status {', '.join(statuses)}",
        message=(
            f"{len(unexpected)} request(s) got an unexpected answer, first {first.get('method')} "
            f"{first.get('url')} (host {first.get('host')}): {first.get('status')} "
            f"{first.get('detail', '')}".rstrip()
            + "; the app did not take the workload as the scenario expects, so what it did not "
            "send cannot be judged"
        ),
        details={"unexpected": [dict(e.data) for e in unexpected[:20]]},
    )
