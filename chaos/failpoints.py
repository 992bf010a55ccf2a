"""Named failure points in task code, armed by a scenario from outside the broker.

``failpoint("shop.carrier")`` in task code does nothing unless a run armed it: with no run
directory in the environment (``CHAOS_RUN_DIR``) it returns after one global lookup. In a run, the
runner writes the armed plans to ``RUN_DIR/failpoints.json`` (a channel outside the Redis under
test, so arming works while the broker is down); every process re-reads the file when its inode,
size or mtime changed. A plan raises an exception given by import path on hits N to M (counted
across all processes of the run), or with a seeded probability, and/or adds a delay. Every firing
is journaled as ``failpoint.fired``.

Code the user cannot edit is armed by patching: a plan for ``patch:module:function`` wraps that
function (or a Celery task's ``run``) with a failpoint of that name; ``install_patches()`` applies
the patches listed in the plan file. In a run, importing this module (``import chaos`` does)
connects it to Celery's ``worker_init``, so every worker applies them at start with no launcher
change. Patch where the code looks the name up, as with ``unittest.mock``.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import json
import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaos import run_channel
from chaos.errors import ConfigError, Problem
from chaos.journal import ENV_RUN_DIR

PLANS_FILE = "failpoints.json"
HITS_DIR = "failpoints"
PATCH_PREFIX = "patch:"


@dataclass(frozen=True)
class FailpointPlan:
    """What an armed failpoint does; ``arming`` names this arming (hits are counted per arming)."""

    arming: str
    raise_: str | None = None
    message: str = "injected by chaos failpoint"
    delay: float | None = None
    hits_from: int | None = None
    hits_to: int | None = None
    probability: float | None = None
    seed: int = 0

    @classmethod
    def from_dict(cls, arming: str, plan: Mapping[str, Any]) -> FailpointPlan:
        return cls(
            arming=arming,
            raise_=plan.get("raise"),
            message=plan.get("message") or "injected by chaos failpoint",
            delay=plan.get("delay"),
            hits_from=plan.get("hits_from"),
            hits_to=plan.get("hits_to"),
            probability=plan.get("probability"),
            seed=int(plan.get("seed") or 0),
        )

    def fires_on(self, hit: int) -> bool:
        """Whether hit number ``hit`` (1-based, counted across processes) fires."""
        if self.probability is not None:
            return random.Random(f"{self.seed}:{hit}").random() < self.probability
        if self.hits_from is not None and hit < self.hits_from:
            return False
        if self.hits_to is not None and hit > self.hits_to:
            return False
        return True


class _PlanSource:
    """The plan file of one run directory, re-read when it changes."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.path = str(run_dir / PLANS_FILE)
        self.hits_dir = run_dir / HITS_DIR
        self._stamp: tuple[int, int, int] | None = None
        self.plans: dict[str, FailpointPlan] = {}
        self.patches: list[str] = []
        self._journal: Any = None

    def refresh(self) -> None:
        try:
            status = os.stat(self.path)
        except FileNotFoundError:
            self._stamp, self.plans = None, {}
            return
        stamp = (status.st_ino, status.st_size, status.st_mtime_ns)
        if stamp == self._stamp:
            return
        try:
            with open(self.path, encoding="utf-8") as plan_file:
                content = json.load(plan_file)
        except (OSError, ValueError):
            return  # replaced while we read it: the next hit reads the new one
        self._stamp = stamp
        self.plans = {
            name: FailpointPlan.from_dict(entry.get("arming", name), entry)
            for name, entry in (content.get("plans") or {}).items()
        }
        self.patches = list(content.get("patches") or [])

    def fire(self, name: str) -> None:
        armed = self.armed_hit(name)
        if armed is None:
            return
        plan, hit = armed
        if not plan.fires_on(hit):
            return
        exception = _exception_class(plan.raise_) if plan.raise_ else None
        self._journal_firing(name, plan, hit, exception)
        if plan.delay:
            time.sleep(plan.delay)  # noqa: sleep-ok the delay is the fault being injected
        if exception is not None:
            raise exception(plan.message)

    def armed_hit(self, name: str) -> tuple[FailpointPlan, int] | None:
        """The plan armed for ``name`` and this hit's number (counted), or None if unarmed."""
        self.refresh()
        plan = self.plans.get(name)
        return None if plan is None else (plan, self._count_hit(plan))

    def _count_hit(self, plan: FailpointPlan) -> int:
        """The hit's number across every process of the run: one byte appended per hit, and the
        offset after an O_APPEND write is ours alone."""
        self.hits_dir.mkdir(exist_ok=True)
        descriptor = os.open(
            self.hits_dir / f"{plan.arming}.hits", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644
        )
        try:
            os.write(descriptor, b".")
            return os.lseek(descriptor, 0, os.SEEK_CUR)
        finally:
            os.close(descriptor)

    def _journal_firing(
        self, name: str, plan: FailpointPlan, hit: int, exception: type[BaseException] | None
    ) -> None:
        from chaos.journal import JournalWriter, default_writer_name, qualified_name

        if self._journal is None:
            self._journal = JournalWriter.for_run_dir(
                self.run_dir, default_writer_name("failpoint")
            )
        task_id, task_name = _current_task()
        self._journal.write(
            "failpoint.fired",
            task_id=task_id,
            task=task_name,
            name=name,
            action="raise" if exception is not None else "delay",
            hit=hit,
            exc_type=qualified_name(exception) if exception is not None else None,
            delay=plan.delay,
            arming=plan.arming,
        )


class _ServedPlanSource(_PlanSource):
    """The plans and hit counts of a run whose files live with its runner (a container on a
    Docker engine): asked of the run service (``chaos.run_channel``), which keeps them in the run
    directory as ``_PlanSource`` does, so hits are counted across every process of the run."""

    def __init__(self, run_dir: Path, channel: run_channel.RunChannel) -> None:
        super().__init__(run_dir)
        self.channel = channel

    def refresh(self) -> None:
        content = json.loads(self.channel.ask(run_channel.PLANS) or "{}")
        self.plans = {
            name: FailpointPlan.from_dict(entry.get("arming", name), entry)
            for name, entry in (content.get("plans") or {}).items()
        }
        self.patches = list(content.get("patches") or [])

    def armed_hit(self, name: str) -> tuple[FailpointPlan, int] | None:
        answer = json.loads(self.channel.ask(run_channel.HIT, name))
        if answer is None:
            return None
        return FailpointPlan(**answer["plan"]), int(answer["hit"])


def served_answer(run_dir: Path, verb: str, payload: str) -> str:
    """The run service's answer to a failpoint request, from the run directory's files."""
    source = _PlanSource(run_dir)
    if verb == run_channel.PLANS:
        try:
            return (run_dir / PLANS_FILE).read_text(encoding="utf-8").replace("\n", " ")
        except FileNotFoundError:
            return "{}"
    armed = source.armed_hit(payload)
    if armed is None:
        return "null"
    plan, hit = armed
    return json.dumps({"plan": dataclasses.asdict(plan), "hit": hit})


def _current_task() -> tuple[str | None, str | None]:
    try:
        from celery import current_task
    except ImportError:
        return None, None
    task = current_task
    if task is None or not getattr(task, "request", None) or task.request.id is None:
        return None, None
    return task.request.id, task.name


def _exception_class(path: str) -> type[BaseException]:
    """The exception class a plan's ``raise`` names; ConfigError when it names none."""
    module, _, name = path.rpartition(".")
    try:
        found = getattr(importlib.import_module(module or "builtins"), name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise _not_an_exception_class(path, f"cannot be imported ({exc})") from None
    if not (isinstance(found, type) and issubclass(found, BaseException)):
        raise _not_an_exception_class(path, "is not an exception class")
    if not issubclass(found, Exception):
        raise _not_an_exception_class(path, "is a BaseException that ends the process, not an "
                                            "Exception a task raises")
    return found


def _not_an_exception_class(path: str, why: str) -> ConfigError:
    return ConfigError([Problem(f"failpoint plan: {path} {why}", field_path="raise",
                                given=repr(path),
                                expected="a dotted path to an exception class, "
                                         "e.g. builtins.ConnectionError")])  # fmt: skip


def _source_from_environment() -> _PlanSource | None:
    run_dir = os.environ.get(ENV_RUN_DIR)
    if not run_dir:
        return None
    served = run_channel.channel()
    return _ServedPlanSource(Path(run_dir), served) if served else _PlanSource(Path(run_dir))


_source: _PlanSource | None = _source_from_environment()


def failpoint(name: str) -> None:
    """Fire the plan armed for ``name``, if any; do nothing otherwise."""
    if _source is None:
        return
    _source.fire(name)


def activate(run_dir: Path | str | None) -> None:
    """Read plans from ``run_dir`` in this process (None turns failpoints off again).

    Processes started by a stack get the run directory from ``CHAOS_RUN_DIR``; this is for code
    that runs in the caller's process, such as a producer calling a view in-process.
    """
    global _source
    _source = _PlanSource(Path(run_dir)) if run_dir is not None else None


# The runner's side: writing the plan file.


def write_plans(
    run_dir: Path | str,
    plans: Mapping[str, Mapping[str, Any]],
    patches: list[str] | None = None,
) -> None:
    """Replace the run's plan file at once (write then rename, so no reader sees half of it).

    Safe to call from several threads: the runner applies simultaneous faults in parallel.
    """
    path = Path(run_dir) / PLANS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with _plans_write_lock:
        content = {"plans": {name: dict(plan) for name, plan in plans.items()}}
        if patches is None and path.exists():
            patches = json.loads(path.read_text(encoding="utf-8")).get("patches") or []
        content["patches"] = list(patches or [])
        staging = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        staging.write_text(json.dumps(content, sort_keys=True), encoding="utf-8")
        os.replace(staging, path)


_plans_write_lock = threading.Lock()


# Patch-based arming.

_installed_patches: set[str] = set()


def patch_target(target: str) -> Callable[..., Any]:
    """Wrap ``module:function`` (or ``module:Class.method``, or a Celery task's ``run``) so that
    every call goes through ``failpoint("patch:module:function")`` first. Idempotent."""
    module_name, _, attribute_path = target.partition(":")
    owner: Any = importlib.import_module(module_name)
    *parents, attribute = attribute_path.split(".")
    for parent in parents:
        owner = getattr(owner, parent)
    original = getattr(owner, attribute)
    name = PATCH_PREFIX + target
    if hasattr(original, "run") and hasattr(original, "apply_async"):
        # A Celery task object: the worker calls task.run, so that is what gets wrapped.
        owner, attribute, original = original, "run", original.run
    if getattr(original, "__chaos_failpoint__", None) == name:
        return original

    @functools.wraps(original)
    def through_failpoint(*args: Any, **kwargs: Any) -> Any:
        failpoint(name)
        return original(*args, **kwargs)

    through_failpoint.__chaos_failpoint__ = name  # type: ignore[attr-defined]
    setattr(owner, attribute, through_failpoint)
    _installed_patches.add(target)
    return through_failpoint


def install_patches(run_dir: Path | str | None = None) -> list[str]:
    """Apply the patches the run's plan file lists; called in the worker at start.

    Returns the targets patched. Does nothing outside a run.
    """
    source = _PlanSource(Path(run_dir)) if run_dir is not None else _source
    if source is None:
        return []
    source.refresh()
    for target in source.patches:
        patch_target(target)
    return sorted(_installed_patches)


def _install_on_worker_init(**_: Any) -> None:
    install_patches()


if _source is not None:
    # Every process of a run that imports ``chaos`` (the worker launcher does, and so does task
    # code calling failpoint()) applies the run's patches when its Celery worker starts: after the
    # app and Django are set up, before the prefork pool forks (children inherit the patches).
    try:
        from celery.signals import worker_init
    except ImportError:  # not a Celery process: nothing to patch at worker start
        pass
    else:
        worker_init.connect(_install_on_worker_init, weak=False)
