"""The journal read back as a history: one record per task, the fault windows, the producer's and
the workers' events, on one timeline that starts at the run's start.

Checks are pure functions over a ``RunHistory``, so the same history can be judged live by the
runner and offline by ``chaos check``. Building it must not depend on the order of the journal's
lines: writers append concurrently, so lines from different processes arrive in any order.

- ``model``: the records (``RunHistory``, ``TaskHistory``, ``Attempt``, ``FaultWindow`` ...);
  what checks and reports depend on;
- ``columns``: the journal read a block at a time into one list per event field;
- ``timeline``: the writers' clocks reconciled onto one timeline, events in timeline order;
- ``builder``: the fold of the columns into the model (performance-tuned);
- ``loader``: a run directory's journal to a ``RunHistory``.
"""

from chaos.history.builder import (
    ENQUEUE_KINDS,
    OUTCOME_BY_KIND,
    OUTCOME_BY_STATE,
    WORKER_KINDS,
    build_history,
)
from chaos.history.columns import PARSE_BLOCK_BYTES
from chaos.history.loader import journal_path, load_history
from chaos.history.model import (
    ACCEPTED_KINDS,
    DONE_OUTCOMES,
    PROMISED_KINDS,
    Attempt,
    EnqueueEvent,
    FailpointFiring,
    FaultWindow,
    Receipt,
    RunHistory,
    RunMeta,
    TaskHistory,
    WorkerEvent,
    format_seconds,
)
from chaos.history.timeline import REPORTED_SKEW, SHARED_CLOCK_WINDOW, StreamKey, order_events

__all__ = [
    "ACCEPTED_KINDS",
    "DONE_OUTCOMES",
    "ENQUEUE_KINDS",
    "OUTCOME_BY_KIND",
    "OUTCOME_BY_STATE",
    "PARSE_BLOCK_BYTES",
    "PROMISED_KINDS",
    "REPORTED_SKEW",
    "SHARED_CLOCK_WINDOW",
    "WORKER_KINDS",
    "Attempt",
    "EnqueueEvent",
    "FailpointFiring",
    "FaultWindow",
    "Receipt",
    "RunHistory",
    "RunMeta",
    "StreamKey",
    "TaskHistory",
    "WorkerEvent",
    "build_history",
    "format_seconds",
    "journal_path",
    "load_history",
    "order_events",
]
