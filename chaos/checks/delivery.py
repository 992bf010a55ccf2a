"""Delivery, in the categories of Jepsen's total-queue checker, and the checks built on them.

- ok: promised (accepted by the broker, or saved to the outbox) and executed to an end;
- lost: promised, never finished, and nothing will bring it back;
- delayed: promised, never finished, but still unacknowledged in Redis: kombu hands it back
  after ``visibility_timeout`` (measured: a delay, not a loss);
- duplicated: one attempt number executed more than once (at-least-once redelivery);
- unexpected: executed, never enqueued by the producer (nor announced as a chain's child);
- recovered: the enqueue was refused or uncertain, never accepted, yet the task ran.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chaos.checks.faults import describe_window, is_worker_fault, loses_broker_memory
from chaos.checks.registry import register
from chaos.checks.verdict import Finding, Verdict, quote, unique_windows
from chaos.history.model import Attempt, FaultWindow, RunHistory, TaskHistory, format_seconds

CATEGORIES = ("ok", "lost", "delayed", "duplicated", "unexpected", "recovered", "refused")


@dataclass
class Delivery:
    """Every task sorted into the categories, with the reason for each one that is not ok."""

    by_category: dict[str, list[TaskHistory]] = field(
        default_factory=lambda: {name: [] for name in CATEGORIES}
    )
    reasons: dict[str, str] = field(default_factory=dict)
    windows: dict[str, list[FaultWindow]] = field(default_factory=dict)
    promised: int = 0
    """Tasks the producer promised (accepted by the broker, or saved to the outbox)."""

    def counts(self) -> dict[str, int]:
        return {name: len(tasks) for name, tasks in self.by_category.items()}


def _acks_late(task: TaskHistory) -> bool:
    return bool(task.policy.get("acks_late"))


def _promise_text(task: TaskHistory) -> str:
    accepted = task.accepted_at
    if accepted is not None:
        return f"accepted by the broker at {format_seconds(accepted)}"
    return f"saved to the outbox at {format_seconds(task.promised_at)}, never relayed"


def _unacked_copy_lost(
    head: str, window: FaultWindow, history: RunHistory
) -> tuple[str, str, list[FaultWindow]]:
    reason = (
        f"{head}; {describe_window(window, history)}: "
        "its unacknowledged copy was lost with the broker's memory"
    )
    return "lost", reason, [window]


def _restore_lock_note(history: RunHistory) -> str:
    """Why a restore may never have come: kombu's restore lock left held (by a worker that died
    or lost its connection while scanning) stops every restore until Redis expires it."""
    if not history.meta.restore_locks:
        return ""
    lock = history.meta.restore_locks[0]
    ttl = lock.get("ttl")
    left = "with no expiry" if ttl is None else f"{ttl:.0f} s left in Redis's real time"
    return (
        f", and kombu's restore lock {lock.get('key')} was still held when the run ended "
        f"({left}): a worker that died or lost its connection while scanning left it, and no "
        "unacknowledged message is restored until it expires (unacked_mutex_expire)"
    )


def _explain_pending_retry(
    task: TaskHistory, retried: Attempt, history: RunHistory, memory_loss: list[FaultWindow]
) -> tuple[str, str, list[FaultWindow]]:
    """A task whose last attempt ended in a retry that never started: the retry is a new
    message, held unacknowledged in Redis (by the worker waiting for its ETA) until it runs, so it
    is lost only with the broker's memory; a killed worker delays it until visibility_timeout,
    and without either the run simply ended before it ran."""
    at = retried.retried_at if retried.retried_at is not None else retried.ended_at
    since = at if at is not None else (task.promised_at or task.first_at)
    due = retried.retry_eta_at
    if due is None and at is not None and retried.countdown is not None:
        due = at + retried.countdown
    head = f"{task.label}: {_promise_text(task)}, {retried.label()} retried at {format_seconds(at)}"
    if due is not None:
        head += f" (next attempt due at {format_seconds(due)})"
    following = None if retried.attempt is None else retried.attempt + 1
    receipt = next((r for r in reversed(task.receipts) if r.attempt == following), None)
    if receipt is not None:
        head += (
            f", attempt {following} received at {format_seconds(receipt.at)} by "
            f"{receipt.hostname or '?'}"
        )
    head += ", never started"
    memory_loss = [w for w in memory_loss if w.start >= since]
    if memory_loss:
        return _unacked_copy_lost(head, memory_loss[0], history)
    killed = [w for w in history.fault_windows if is_worker_fault(w) and w.overlaps(since, None)]
    if killed:
        reason = (
            f"{head}; {killed[0].describe()}: the retry it held is unacknowledged in Redis, "
            f"delayed until visibility_timeout{_restore_lock_note(history)}"
        )
        return "delayed", reason, killed
    end = history.meta.finished_at if history.meta.finished_at is not None else history.end_at
    if due is not None and due < end:
        pending = f"past its due time, still pending when the run ended at {format_seconds(end)}"
    else:
        pending = f"retry still pending when the run ended at {format_seconds(end)}"
    return "delayed", f"{head}; {pending} (no worker died, no broker memory lost)", []


def _explain_unfinished(
    task: TaskHistory, history: RunHistory
) -> tuple[str, str, list[FaultWindow]]:
    """Category ("lost" or "delayed") and the reason for a promised task that never finished."""
    promised = task.promised_at or task.first_at
    after = [w for w in history.fault_windows if w.end is None or w.end >= promised]
    memory_loss = [w for w in after if loses_broker_memory(w, history)]
    executions = task.executions
    started = executions[-1] if executions else None
    receipt = task.receipts[-1] if task.receipts else None
    head = f"{task.label}: {_promise_text(task)}"
    if started is not None and started.outcome == "retry":
        return _explain_pending_retry(task, started, history, memory_loss)
    if started is not None:
        where = f"started at {format_seconds(started.started_at)} on {started.worker or '?'}"
        head += f", {where}, never finished"
        since = started.started_at or promised
        memory_loss = [w for w in memory_loss if w.start >= since]
        killed = [
            w for w in history.fault_windows if is_worker_fault(w) and w.overlaps(since, None)
        ]
        if not _acks_late(task):
            cause = (
                f"; {killed[0].describe()}" if killed else ""
            ) + ": acked when it started (acks_late off), lost with the worker"
            return "lost", head + cause, killed
        if memory_loss:
            return _unacked_copy_lost(head, memory_loss[0], history)
        return (
            "delayed",
            f"{head}; acks_late: still unacknowledged in Redis, delayed until visibility_timeout"
            + _restore_lock_note(history),
            killed,
        )
    if receipt is not None:
        head += (
            f", received at {format_seconds(receipt.at)} by {receipt.hostname or '?'}, "
            "never executed"
        )
        memory_loss = [w for w in memory_loss if w.start >= receipt.at]
        if memory_loss:
            return _unacked_copy_lost(head, memory_loss[0], history)
        return (
            "delayed",
            f"{head}; still unacknowledged in Redis, delayed until visibility_timeout"
            + _restore_lock_note(history),
            [],
        )
    head += ", never executed"
    if memory_loss:
        window = memory_loss[0]
        reason = f"{head}; {describe_window(window, history)}: lost with the broker's memory"
        return "lost", reason, [window]
    around = history.windows_around(promised, None, margin=0.0)
    context = "; ".join(describe_window(w, history) for w in around)
    context = f"faults after it: {context}" if context else "no fault after it"
    return "lost", f"{head} nor received by any worker; {context}", around


def classify(history: RunHistory) -> Delivery:
    """Sort every task of the history into the delivery categories (computed once per history)."""
    cached = history.derived.get("delivery")
    if cached is None:
        cached = history.derived["delivery"] = _classify(history)
    return cached


def chain_children(history: RunHistory) -> dict[str, tuple[str, str]]:
    """Each chain child the producer announced, by its task id: (its parent's id, its name)."""
    cached = history.derived.get("chain_children")
    if cached is None:
        cached = history.derived["chain_children"] = {}
        for task in history.tasks.values():
            for enqueue in task.enqueues:
                parent = task.task_id
                for name, child in enqueue.chain:
                    cached.setdefault(child, (parent, name))
                    parent = child
    return cached


def _classify(history: RunHistory) -> Delivery:
    result = Delivery()
    implied = chain_children(history)
    for task in history.tasks.values():
        executions = task.executions
        executed = bool(executions)
        duplicated = task.duplicated_attempts() if len(executions) > 1 else {}
        if duplicated:
            result.by_category["duplicated"].append(task)
            times = ", ".join(
                f"attempt {n} ran {count} times" for n, count in sorted(duplicated.items(), key=str)
            )
            redelivered = [a for a in executions if a.redelivered]
            how = " (redelivered)" if redelivered else ""
            result.reasons.setdefault(task.task_id, f"{task.label}: {times}{how}")
            result.windows.setdefault(task.task_id, history.windows_for_task(task))
        if executed and not task.enqueues and task.task_id in implied:
            # A chain child: published by its parent's worker (invariant:chains judges it).
            if not duplicated:
                result.by_category["ok"].append(task)
            continue
        if executed and not task.enqueues:
            result.by_category["unexpected"].append(task)
            result.reasons[task.task_id] = (
                f"{task.label}: executed at {format_seconds(executions[0].started_at)}, "
                "never enqueued by the producer"
            )
            result.windows[task.task_id] = history.windows_for_task(task)
            continue
        if task.promised_at is None:
            if executed and task.refused:
                result.by_category["recovered"].append(task)
                refused = next(e for e in task.enqueues if e.outcome in ("refused", "uncertain"))
                result.reasons.setdefault(
                    task.task_id,
                    f"{task.label}: enqueue {refused.outcome} at {format_seconds(refused.at)}"
                    f" ({refused.exc_type or 'no exception'}), yet it ran at "
                    f"{format_seconds(executions[0].started_at)}",
                )
            elif task.refused:
                result.by_category["refused"].append(task)
            elif executed:
                result.by_category["ok"].append(task)
            continue
        result.promised += 1  # (an unexpected task, never enqueued, was promised nothing)
        if task.completed:
            if not duplicated:
                result.by_category["ok"].append(task)
            continue
        category, reason, around = _explain_unfinished(task, history)
        result.by_category[category].append(task)
        result.reasons[task.task_id] = reason
        result.windows[task.task_id] = around or history.windows_for_task(task)
    return result


def findings_in(delivery: Delivery, categories: tuple[str, ...]) -> list[Finding]:
    """One finding per task in these categories (every one of which has a reason), in order."""
    tasks = [t for name in categories for t in delivery.by_category[name]]
    ids = list(dict.fromkeys(t.task_id for t in tasks))
    return [Finding(delivery.reasons[i], i, tuple(delivery.windows.get(i, ()))) for i in ids]


def _summary(
    delivery: Delivery, categories: tuple[str, ...]
) -> tuple[str, list[str], list[FaultWindow]]:
    """One line quoting the first problem task, the ids of all, and their fault windows."""
    findings = findings_in(delivery, categories)
    ids = [f.task_id for f in findings if f.task_id is not None]
    return quote(findings), ids, unique_windows([w for f in findings for w in f.fault_windows])


def _observed(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {counts[name]}" for name in CATEGORIES if counts[name]) or "no tasks"


@register("delivery")
def check_delivery(
    history: RunHistory,
    duplicates_allowed: bool = False,
    delayed_allowed: bool = True,
    unexpected_allowed: bool = False,
    lost_allowed: int = 0,
) -> Verdict:
    """Every promised task executed: none lost, duplicates only where at-least-once allows them."""
    delivery = classify(history)
    counts = delivery.counts()
    failing = ["lost"] if counts["lost"] > lost_allowed else []
    if not delayed_allowed:
        failing.append("delayed")
    if not duplicates_allowed:
        failing.append("duplicated")
    if not unexpected_allowed:
        failing.append("unexpected")
    bad = [name for name in failing if counts[name]]
    expected = f"lost <= {lost_allowed}" + ("" if duplicates_allowed else ", duplicated 0")
    if not unexpected_allowed:
        expected += ", unexpected 0"
    if not delayed_allowed:
        expected += ", delayed 0"
    if bad:
        line, ids, windows = _summary(delivery, tuple(bad))
        message = line
    else:
        line, ids, windows = _summary(delivery, ("lost", "delayed", "duplicated", "unexpected"))
        total = sum(counts.values())
        message = f"{counts['ok']} of {total} tasks delivered" + (f"; {line}" if line else "")
    return Verdict(
        name="delivery",
        ok=not bad,
        expected=expected,
        observed=_observed(counts),
        message=message,
        tasks=ids,
        fault_windows=windows,
        details={
            "counts": counts,
            "categories": {n: [t.task_id for t in ts] for n, ts in delivery.by_category.items()},
            "reasons": delivery.reasons,
        },
    )


@register("no_lost")
def check_no_lost(history: RunHistory, delayed_allowed: bool = True) -> Verdict:
    """No task the broker accepted (or the outbox saved) is lost."""
    delivery = classify(history)
    counts = delivery.counts()
    categories = ("lost",) if delayed_allowed else ("lost", "delayed")
    missing = sum(counts[c] for c in categories)
    line, ids, windows = _summary(delivery, categories)
    promised = delivery.promised
    if missing:
        message = line
    else:
        message = f"all {promised} accepted tasks executed"
        if counts["delayed"]:
            delayed_line, _, _ = _summary(delivery, ("delayed",))
            message += f"; delayed: {delayed_line}"
    return Verdict(
        name="no_lost",
        ok=not missing,
        expected="lost 0" + ("" if delayed_allowed else ", delayed 0"),
        observed=f"lost {counts['lost']}, delayed {counts['delayed']} of {promised} accepted",
        message=message,
        tasks=ids,
        fault_windows=windows,
        details={"counts": counts, "reasons": {i: delivery.reasons[i] for i in ids}},
    )


@register("duplicates")
def check_duplicates(
    history: RunHistory,
    allowed: bool = False,
    at_most: int | None = None,
    at_least: int | None = None,
) -> Verdict:
    """Duplicates counted; allowed only where the scenario says at-least-once may duplicate;
    ``at_least``: a surprise the scenario asserts (at least that many extra executions)."""
    delivery = classify(history)
    tasks = delivery.by_category["duplicated"]
    extra_runs = sum(count - 1 for t in tasks for count in t.duplicated_attempts().values())
    limit = at_most if at_most is not None else (None if allowed or at_least else 0)
    ok = (limit is None or extra_runs <= limit) and (at_least is None or extra_runs >= at_least)
    line, ids, windows = _summary(delivery, ("duplicated",))
    expected = "any" if limit is None else f"at most {limit} extra executions"
    if at_least is not None:
        expected = f"at least {at_least}" + ("" if limit is None else f", {expected}")
    observed = f"{len(tasks)} tasks duplicated, {extra_runs} extra executions"
    if tasks:
        message = line if not ok else f"duplicates allowed (at-least-once): {line}"
    else:
        message = "no attempt executed twice"
    if at_least is not None and extra_runs < at_least:
        message = f"expected at least {at_least} extra executions, saw {extra_runs}: {message}"
    return Verdict(
        name="duplicates",
        ok=ok,
        expected=expected,
        observed=observed,
        message=message,
        tasks=ids,
        fault_windows=windows,
        details={"extra_executions": extra_runs, "reasons": {i: delivery.reasons[i] for i in ids}},
    )


@register("no_unexpected")
def check_no_unexpected(history: RunHistory) -> Verdict:
    """Nothing executed that the producer never enqueued."""
    delivery = classify(history)
    tasks = delivery.by_category["unexpected"]
    line, ids, windows = _summary(delivery, ("unexpected",))
    return Verdict(
        name="no_unexpected",
        ok=not tasks,
        expected="unexpected 0",
        observed=f"unexpected {len(tasks)}",
        message=line or "every executed task was enqueued by the producer",
        tasks=ids,
        fault_windows=windows,
    )
