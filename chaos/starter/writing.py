"""A starter library from a project's declarations, each task's policy pinned.

For every task ``chaos.starter.reading`` found, the scenarios ``chaos.starter.kinds`` says apply
(a link cut, latency and a broker restart for all; a retry ladder for a retrying task; a worker
kill and a pool process kill mid-task for an ``acks_late`` one). Each expects
``retries_as_declared`` with a ``pin:`` of the policy as the sources declare it *now* (so that a
later change to a declaration fails the gate, "declares 2, the scenario pins 3", until the
library is regenerated on purpose), ``no_lost`` and ``duplicates`` (allowed only for
``acks_late`` tasks, where at-least-once is the promise).

What it cannot infer it says, in the file's header and in the summary: arguments it had to guess
(give ``--args TASK=JSON``), policy values that are not literals (not pinned), a retrying task with
no call its retry path guards (no ladder), tasks it skipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from chaos.starter import kinds
from chaos.starter.kinds import Kind
from chaos.starter.reading import Project, TaskPolicy
from chaos.starter.workdir import workdir_for

#: Policy keys ``retries_as_declared`` can pin (chaos.checks.pins.PINNABLE).
PINNED = ("max_retries", "default_retry_delay", "retry_backoff", "retry_backoff_max",
          "retry_jitter", "autoretry_for", "acks_late", "reject_on_worker_lost")  # fmt: skip


@dataclass
class Written:
    files: list[Path] = field(default_factory=list)
    guessed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def pin_of(task: TaskPolicy) -> dict[str, Any]:
    """The declared policy as ``pin:`` takes it: what the decorator says, acks_late always (off
    unless declared), the countdown when every ``self.retry`` call passes the same literal one."""
    pin = {key: task.policy[key] for key in PINNED if key in task.policy}
    pin.setdefault("acks_late", False)
    if len(set(task.retry_countdowns)) == 1:
        pin["countdown"] = task.retry_countdowns[0]
    return pin


def _short(task: TaskPolicy) -> str:
    return task.name.rsplit(".", 1)[-1].replace("_", "-")


def _header(task: TaskPolicy, kind: Kind, guessed: bool) -> str:
    lines = [
        f"# Written by chaos init from {task.module}.{task.function} (line {task.line}): "
        f"{kind.what}",
        "# The pin is the policy the sources declare today: a change to the declaration fails this",
        "# scenario until the library is regenerated on purpose (chaos init --force).",
    ]
    if guessed:
        lines.append(f"# ARGS GUESSED: {task.name}({', '.join(task.params)}) needs arguments "
                     f"chaos init could not know: give --args {task.name}=JSON")  # fmt: skip
    lines += [f"# {line}" for line in kind.header]
    lines += [f"# NOT PINNED (not a literal): {item}" for item in task.unread]
    return "\n".join(lines) + "\n"


def _scenario(project: Project, task: TaskPolicy, kind: Kind, args: list[Any],
              options: dict[str, Any], out: Path) -> dict[str, Any]:  # fmt: skip
    app: dict[str, Any] = {"name": project.app, "workdir": workdir_for(project.root, out)}
    if project.settings:
        app["settings"] = project.settings
    if options.get("env"):
        app["env"] = dict(options["env"])
    if options.get("setup"):
        app["setup"] = list(options["setup"])
    declared: dict[str, Any] = {"check": "retries_as_declared", "task": task.name,
                                "pin": pin_of(task)}  # fmt: skip
    stream: dict[str, Any] = {"path": "task", "task": task.name, "args": args, "count": 3,
                              "rate": "2/s"}  # fmt: skip
    timing: dict[str, Any] = {"drain": "20s", "timeout": "90s"}
    if kind is kinds.LINK_DOWN:
        faults = [{"id": "link-down", "type": "proxy.down", "at": "1s", "for": "2s"}]
        stream["count"] = 6  # publishes at 0 to 2.5 s: three of them inside the cut
    elif kind is kinds.BROKER_RESTART:
        faults, resume = kinds.broker_restart()
        stream["at"] = kinds.FIRST_SEND_AFTER_RESTART
    elif kind is kinds.LATENCY:
        faults = [{"id": "slow-link", "type": "proxy.toxic", "toxic": "latency",
                   "attributes": {"latency": 300}, "at": "500ms", "for": "3s"}]  # fmt: skip
    elif kind is kinds.RETRY_LADDER:
        fault, ladder_expect, timing = kinds.ladder(task)
        faults = [fault]
        declared.update(ladder_expect)
        stream["count"] = 1
    elif kind is kinds.POOL_KILL:
        faults, final = kinds.pool_kill(task)
        declared.update(final)
        stream["count"] = 1
    else:
        faults = kinds.worker_kill(task)
    expect: list[dict[str, Any]] = [
        declared,
        {"check": "no_lost"},
        {"check": "duplicates", "allowed": bool(task.policy.get("acks_late"))},
    ]
    if kind is kinds.WORKER_KILL:
        expect.append({"check": "resume_within", "fault": "worker-killed"})
    if kind is kinds.BROKER_RESTART:
        expect.append(resume)
    topology = {"topology": {"workers": 1, "pool": "prefork", "concurrency": 2}} if (
        kind is kinds.POOL_KILL) else {}  # fmt: skip
    return {
        "name": f"{_short(task)}-{kind.slug}",
        "description": f"{task.name}: {kind.what}.",
        "seed": 1,
        "app": app,
        **topology,
        "workload": [stream],
        "faults": faults,
        "expect": expect,
        **timing,
    }


def write_library(
    project: Project, out: Path, *, args: dict[str, list[Any]], env: dict[str, str],
    setup: list[str], force: bool = False,
) -> Written:  # fmt: skip
    """Write the starter library into ``out``; an existing file is kept unless ``force``."""
    out.mkdir(parents=True, exist_ok=True)
    written = Written(notes=list(project.notes))
    for task in project.tasks:
        given = args.get(task.name)
        guessed = given is None and bool(task.params)
        task_args = given if given is not None else [1] * len(task.params)
        if guessed:
            written.guessed.append(f"{task.name}({', '.join(task.params)}): args {task_args} "
                                   "guessed")  # fmt: skip
        if task.retries and task.trigger is None:
            written.notes.append(
                f"{task.name}: retries, but no call its retry path guards could be named (a "
                "method or a local helper?): no retry ladder written; add a failpoint() in the "
                "try block or write one by hand"
            )
        for kind in kinds.kinds_for(task):
            path = out / f"{_short(task)}-{kind.slug}.yaml"
            if path.exists() and not force:
                written.notes.append(f"{path.name} exists: kept (--force writes it again)")
                continue
            options = {"env": env, "setup": setup}
            document = _scenario(project, task, kind, task_args, options, out)
            body = yaml.safe_dump(document, sort_keys=False, default_flow_style=None, width=100)
            path.write_text(_header(task, kind, guessed) + body)
            written.files.append(path)
    return written


def parse_args_option(values: list[str]) -> dict[str, list[Any]]:
    """``--args TASK=JSON`` (a JSON list, or one value) into task name -> args."""
    parsed: dict[str, list[Any]] = {}
    for value in values:
        name, sep, raw = value.partition("=")
        if not sep or not name:
            raise ValueError(f"--args {value!r}: expected TASK=JSON, e.g. shop.tasks.x=[1]")
        try:
            loaded = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"--args {value!r}: not JSON ({exc.msg})") from None
        parsed[name] = loaded if isinstance(loaded, list) else [loaded]
    return parsed
