"""Which scenarios a mutant meets first: the ones most likely to kill it.

A mutant stops at its first kill, so the order is the cost of a killed mutant: over the whole
library, a policy bug met by a scenario that pins the task's policy dies in one run (drift fails
at once) instead of after every unrelated scenario. Ranks, best first:

4. an expectation names the task and pins the very field the mutant changes (``acks_late`` for
   an acks_late flip: drift fails it whatever the run does);
3. an expectation names the task and pins its policy (``retries_as_declared`` with ``pin:``);
2. an expectation names the task;
1. the workload or a fault names the task (``task: shop.tasks.X``, ``task: X``, a failpoint of
   the same name); for a view's mutant, a workload that goes through the app's views (``naive``,
   ``durable``, ``http``);
0. the rest.

Within a rank the shorter scenario goes first (its nominal length: the latest fault or stream
start and fault end, plus the drain, over the clock's dilation: 21 s for the dilated retry ladder,
85 s for a broker restart while a 60 s retry waits), then the order given. A survivor runs every
scenario whatever the order; only kills get cheaper.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from chaos.scenario.durations import parse_duration

#: Workload paths that send their messages through the app's views.
VIEW_PATHS = frozenset({"naive", "durable", "http"})

#: What a view's mutant's task reads like (``view place_order``, see chaos.mutate.operators).
VIEW_PREFIX = "view "

#: The pin fields each operator's mutant changes (chaos.mutate.operators; chaos.checks.pins).
PINNED_BY = {
    "max_retries": ("max_retries",),
    "countdown": ("countdown", "default_retry_delay"),
    "acks_late": ("acks_late",),
    "reject_on_worker_lost": ("reject_on_worker_lost",),
    "autoretry_for": ("autoretry_for",),
    "retry_backoff": ("retry_backoff", "retry_backoff_max"),
}

Item = TypeVar("Item")
Documents = Sequence[tuple[Item, dict[str, Any]]]


def names(value: str, task: str) -> bool:
    """``shop.tasks.risky_task`` and ``risky_task`` both name ``risky_task``."""
    return value == task or value.rsplit(".", 1)[-1] == task


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _entries(document: dict[str, Any], key: str) -> list[dict[str, Any]]:
    entries = document.get(key) or []
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def relevance(document: dict[str, Any], task: str, operator: str = "") -> int:
    """How likely the scenario (as its YAML mapping) is to kill a mutant of ``task`` made by
    ``operator`` (the ranks above)."""
    if task.startswith(VIEW_PREFIX):
        paths = {e.get("path", "naive") for e in _entries(document, "workload")}
        return 1 if paths & VIEW_PATHS else 0
    named = [e for e in _entries(document, "expect") if names(str(e.get("task") or ""), task)]
    pins = [e["pin"] for e in named if isinstance(e.get("pin"), dict) and e["pin"]]
    if any(field in pin for pin in pins for field in PINNED_BY.get(operator, ())):
        return 4
    if pins:
        return 3
    if named:
        return 2
    runs = [*_entries(document, "workload"), *_entries(document, "faults")]
    return 1 if any(names(s, task) for s in _strings(runs)) else 0


def _seconds(value: Any) -> float:
    """A time as a scenario writes it (``2s``, ``{between: [1s, 3s]}``, ``event + 1s``), its
    latest reading in seconds; 0 for what cannot be read without a run."""
    if isinstance(value, dict):
        return max((_seconds(v) for v in value.get("between") or []), default=0.0)
    if isinstance(value, str):
        try:
            return parse_duration(value.rpartition("+")[2] if "+" in value else value)
        except ValueError:
            return 0.0
    return 0.0


def nominal_seconds(document: dict[str, Any]) -> float:
    """How long the scenario lasts in real seconds if nothing waits longer than written (above)."""
    ends = [_seconds(e.get("at")) + _seconds(e.get("after")) + _seconds(e.get("for"))
            for e in [*_entries(document, "workload"), *_entries(document, "faults")]]  # fmt: skip
    clock = document.get("clock")
    dilation = clock.get("dilation") if isinstance(clock, dict) else None
    factor = dilation if isinstance(dilation, (int, float)) and dilation > 0 else 1
    return (max(ends, default=0.0) + _seconds(document.get("drain"))) / factor


def order_for(task: str, documents: Documents[Item],
              operator: str = "") -> list[tuple[Item, dict[str, Any]]]:  # fmt: skip
    """``documents`` (each a name and its mapping) best first for ``operator``'s mutant of
    ``task``."""
    return sorted(documents,
                  key=lambda pair: (-relevance(pair[1], task, operator), nominal_seconds(pair[1])))
