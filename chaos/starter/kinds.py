"""The scenarios a starter library holds per task: what each one does to the task and expects.

- ``link-down`` (every task): the broker link cut for 2 s while the task is sent and run;
- ``latency`` (every task): 300 ms on the link;
- ``broker-restart`` (every task): Redis restarted (stop, start: its memory lost) while the worker
  is connected and idle, before the task is first sent, so before any retry is pending; the
  worker must reconnect on its own and run every task sent after it (a restart while a retry
  waits is another promise, which kombu 5.7.0 breaks: scenarios/broker-restart-retry-pending.yaml);
- ``retry-ladder`` (a retrying task whose retry path has a failpoint target,
  ``chaos.starter.triggers``): the guarded call fails on every attempt, so the task makes exactly
  ``max_retries + 1`` attempts and ends FAILURE (an unbounded task: fails twice, then succeeds on
  its 3rd); the gaps are judged against the pinned countdown or backoff;
- ``worker-kill`` (an ``acks_late`` task with a call to hold): the worker is SIGKILLed mid-task and
  started again; the task must not be lost (acks_late keeps it in Redis: "delayed" is fine);
- ``pool-kill`` (the same tasks): one prefork pool process SIGKILLed mid-task while the worker
  lives; with ``reject_on_worker_lost`` the message goes back and the task ends SUCCESS, without
  it Celery records WorkerLostError and the task ends FAILURE, as the declaration says.

Each expects ``retries_as_declared`` with the declared policy pinned, so a changed declaration
fails the gate until the library is regenerated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chaos.starter.reading import TaskPolicy

#: Celery's defaults where a task does not declare them (``Task.max_retries``,
#: ``Task.default_retry_delay``).
CELERY_MAX_RETRIES = 3
CELERY_RETRY_DELAY = 180.0
#: A ladder whose retries wait longer than this in all runs dilated x10 (``clock:``): about ten
#: times faster, the verdicts in app time (the library's long ladders were measured the same).
DILATE_ABOVE_SECONDS = 10.0


@dataclass(frozen=True)
class Kind:
    slug: str
    what: str
    """Said in the file's header and description, after "the task under"."""
    header: tuple[str, ...] = ()
    """More of the file's header comment: what the scenario arranges and why."""


LINK_DOWN = Kind("link-down", "the broker link cut for 2 s")
LATENCY = Kind("latency", "300 ms of latency on the broker link")
RETRY_LADDER = Kind("retry-ladder", "a failure injected where its retry path expects one")
WORKER_KILL = Kind("worker-kill", "the worker SIGKILLed mid-task, started again 1 s later")
POOL_KILL = Kind("pool-kill", "one prefork pool process SIGKILLed mid-task")
#: The restart (at 1 s) comes before the first send (at 3 s): nothing is pending at it.
RESTART_AT, FIRST_SEND_AFTER_RESTART = "1s", "3s"
#: A worker retries its broker connection after 2 s, then 4 s more (reference facts §3): it runs
#: again within 6 s of the restart; 15 s leaves room for a loaded 2-core machine.
RESUME_WITHIN_SECONDS = 15
BROKER_RESTART = Kind(
    "broker-restart", "Redis restarted (stop, start) before any retry is pending",
    header=(
        f"Redis is stopped and started again at {RESTART_AT} (its memory is lost) while the worker",
        f"is connected and idle, before the task is first sent (at {FIRST_SEND_AFTER_RESTART}): "
        "no retry is pending and",
        "no message waits in Redis. The worker must notice, reconnect on its own and run every",
        "task sent after the restart. A restart while a retry is pending is another promise",
        "(kombu 5.7.0 crashes the worker on it: scenarios/broker-restart-retry-pending.yaml).",
    ),
)  # fmt: skip


def kinds_for(task: TaskPolicy) -> list[Kind]:
    kinds = [LINK_DOWN, LATENCY, BROKER_RESTART]
    if task.retries and task.trigger is not None:
        kinds.append(RETRY_LADDER)
    if task.policy.get("acks_late") is True and task.slow is not None:
        kinds += [WORKER_KILL, POOL_KILL]
    return kinds


def retry_delays(task: TaskPolicy, retries: int) -> list[float]:
    """The waits before each retry as declared (upper bounds under backoff with jitter)."""
    if task.policy.get("retry_backoff"):
        factor = task.policy["retry_backoff"]
        factor = 1 if factor is True else float(factor)
        cap = float(task.policy.get("retry_backoff_max", 600))
        return [min(cap, factor * 2**n) for n in range(retries)]
    if task.retry_countdowns:
        return [max(task.retry_countdowns)] * retries
    return [float(task.policy.get("default_retry_delay", CELERY_RETRY_DELAY))] * retries


def ladder(task: TaskPolicy) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The failpoint, the expectation and the scenario's timing for a retry ladder."""
    assert task.trigger is not None
    bounded = task.policy.get("max_retries", CELERY_MAX_RETRIES) is not None
    retries = task.policy.get("max_retries", CELERY_MAX_RETRIES) if bounded else 2
    fault: dict[str, Any] = {
        "id": "retry-trigger", "type": "failpoint", **task.trigger.target.as_fault(),
        "raise": task.trigger.exception, "message": "injected by chaos init's retry ladder",
        "at": "0s",
    }  # fmt: skip
    if not bounded:
        fault["hits"] = {"from": 1, "to": 2}
    expect = {"attempts": retries + 1, "final_state": "FAILURE" if bounded else "SUCCESS"}
    waiting = sum(retry_delays(task, retries))
    timing: dict[str, Any] = {"drain": f"{waiting * 1.5 + 20:g}s",
                              "timeout": f"{waiting * 1.5 + 90:g}s"}  # fmt: skip
    if waiting > DILATE_ABOVE_SECONDS:
        timing["clock"] = {"dilation": 10}
    return fault, expect, timing


def worker_kill(task: TaskPolicy) -> list[dict[str, Any]]:
    """A 3 s hold on a call of the task, and the worker killed 1 s into the first execution."""
    assert task.slow is not None
    return [
        {"id": "slow-call", "type": "failpoint", **task.slow.as_fault(), "delay": "3s",
         "at": "0s"},  # fmt: skip
        {"id": "worker-killed", "type": "worker.kill", "worker": "all",
         "after": "first_task_started + 1s", "for": "1s"},  # fmt: skip
    ]


def pool_kill(task: TaskPolicy) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A 3 s hold on a call of the task, its pool process killed 1 s into the execution, and the
    final state the declaration implies."""
    assert task.slow is not None
    faults = [
        {"id": "slow-call", "type": "failpoint", **task.slow.as_fault(), "delay": "3s",
         "at": "0s"},  # fmt: skip
        {"id": "pool-process-killed", "type": "worker.kill_pool_process", "task": task.name,
         "after": "first_task_started + 1s"},  # fmt: skip
    ]
    final = "SUCCESS" if task.policy.get("reject_on_worker_lost") is True else "FAILURE"
    return faults, {"final_state": final}


def broker_restart() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The restart before the first send, and how soon the worker must run tasks again."""
    restart = {"id": "redis-restart", "type": "broker.restart", "at": RESTART_AT}
    resume = {"check": "resume_within", "fault": "redis-restart", "seconds": RESUME_WITHIN_SECONDS}
    return [restart], resume
