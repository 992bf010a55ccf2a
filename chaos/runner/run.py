"""Running one scenario: resolve, start the stack, drive the timeline, heal, drain, check, report.

Every random choice is fixed before anything starts (the resolved timeline, written to the run
directory with the scenario and the seed), so ``chaos replay`` can run the same experiment again.
The loop ticks every few tens of milliseconds: it reads what the journal says happened (first task
started, tasks finished), applies each fault when its time comes and heals it when its ``for:``
has passed or its ``until:`` condition holds. An infrastructure failure (StackError) ends the run
without a verdict: it says nothing about the system under test.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from chaos import failpoints
from chaos.clock import AppClock
from chaos.errors import ConfigError, StackError
from chaos.history.completeness import require_complete
from chaos.journal import JOURNAL_FILE, JournalWriter, journal_write_failures, read_journal
from chaos.runner.clocking import app_clock
from chaos.runner.console import RunConsole
from chaos.runner.control import ask_control
from chaos.runner.endpoints import start_endpoints
from chaos.runner.faults import FaultDriver
from chaos.runner.follower import JournalFollower, RunProgress
from chaos.runner.plan import expectations_of, run_plan
from chaos.runner.restore_lock import journal_restore_lock
from chaos.runner.results import snapshot_results
from chaos.runner.rundir import RunFiles, new_run_files
from chaos.runner.workload_process import WorkloadProcess, workload_env
from chaos.runner.workload_verdict import unexpected_verdict
from chaos.scenario import LoadedScenario, Scenario, load_scenario, load_scenario_text
from chaos.scenario.semantics import app_workdir
from chaos.scenario.timeline import ResolvedFault, ResolvedTimeline, new_seed, resolve_timeline
from chaos.stack import backend_class, open_stack
from chaos.stack.base import Stack, StackConfig

TICK_SECONDS = 0.02
QUEUE_CHECK_SECONDS = 0.2
WORKLOAD_READY_SECONDS = 60.0
#: The drain's "nothing left" must hold on two looks this far apart: a message being moved from
#: the queue to the unacked hash by a worker is briefly in neither.
SETTLE_SECONDS = 0.3
#: Less free space than this under the run directory ends the run as an infrastructure error:
#: a few journal lines may still fit, but the writers with more to say have already failed.
DISK_HEADROOM_BYTES = 64 * 1024


@dataclass
class RunResult:
    """What a run concluded; ``ok`` is the gate (every expectation held)."""

    scenario: str
    run_id: str
    run_dir: Path
    seed: int
    backend: str
    verdicts: list[Any]
    timings: dict[str, float] = field(default_factory=dict)
    never_applied: list[str] = field(default_factory=list)
    dilation: float = 1.0
    """How many times faster than real time the app's clock ran (1: real time)."""

    @property
    def ok(self) -> bool:
        return all(verdict.ok for verdict in self.verdicts)

    @property
    def report_path(self) -> Path:
        return self.run_dir / "report.json"

    @property
    def overhead(self) -> float | None:
        """Wall time over intrinsic time (the fault windows and the system's own waits)."""
        intrinsic = self.timings.get("intrinsic")
        return self.timings["wall"] / intrinsic if intrinsic else None


@dataclass
class _FaultState:
    fault: ResolvedFault
    applied_at: float | None = None
    healed_at: float | None = None
    in_progress: Future[None] | None = None
    """An apply or heal still running (starting a worker waits until it is ready)."""

    @property
    def active(self) -> bool:
        return self.applied_at is not None and self.healed_at is None and not self.in_progress

    @property
    def pending(self) -> bool:
        return self.applied_at is None and not self.in_progress


def as_loaded(scenario: LoadedScenario | Scenario | dict[str, Any] | Path | str) -> LoadedScenario:
    """A validated scenario from a path, a dict (as a file would hold it), or a model."""
    if isinstance(scenario, LoadedScenario):
        return scenario
    if isinstance(scenario, Scenario):
        text = yaml.safe_dump(scenario.to_document(), sort_keys=False)
        return load_scenario_text(text, f"<{scenario.name}>")
    if isinstance(scenario, dict):
        text = yaml.safe_dump(scenario, sort_keys=False)
        return load_scenario_text(text, f"<{scenario.get('name', 'scenario')}>")
    return load_scenario(Path(scenario))


@contextmanager
def proxy_log_in_run_dir(run_dir: Path) -> Iterator[None]:
    """Send the in-process proxy's log to ``RUN_DIR/logs/proxy.log`` for the run.

    "cannot reach upstream" is what the proxy says all through a broker outage: the fault doing
    its job, which belongs with the run's other logs, not on the console between the verdicts.
    """
    logger = logging.getLogger("chaos.proxy")
    (run_dir / "logs").mkdir(exist_ok=True)
    handler = logging.FileHandler(run_dir / "logs" / "proxy.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    propagate, level = logger.propagate, logger.level
    logger.addHandler(handler)
    logger.propagate = False
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate, logger.level = propagate, level
        handler.close()


def stack_config(loaded: LoadedScenario, files: RunFiles, seed: int) -> StackConfig:
    scenario = loaded.scenario
    topology = scenario.topology
    workdir = app_workdir(scenario, loaded.path)
    return StackConfig(
        app=scenario.app.name,
        workdir=workdir,
        settings_module=scenario.app.settings_for(workdir),
        env=dict(scenario.app.env),
        database_env=scenario.app.database.env,
        setup=list(scenario.app.setup),
        workers=topology.workers,
        pool=topology.pool,
        concurrency=topology.concurrency,
        queues=topology.queues,
        mingle=topology.mingle,
        gossip=topology.gossip,
        heartbeat=topology.heartbeat,
        per_worker={k: v.model_dump(exclude_none=True) for k, v in topology.per_worker.items()},
        prefetch_multiplier=topology.prefetch_multiplier,
        disable_prefetch=topology.disable_prefetch,
        persistence=topology.persistence,
        celery_settings=dict(topology.celery),
        run_dir=files.run_dir,
        run_id=files.run_id,
        seed=seed,
    )


def run_scenario(
    scenario: LoadedScenario | Scenario | dict[str, Any] | Path | str,
    *,
    backend: str = "local",
    seed: int | None = None,
    out_dir: Path | str | None = None,
    timeline: ResolvedTimeline | None = None,
    console: RunConsole | None = None,
    quiet: bool = False,
    picture: bool = False,
    html: bool = False,
    dilation: float | None = None,
) -> RunResult:
    """Run a scenario on a fresh stack and judge it. ConfigError for bad input (nothing started),
    StackError when the stack could not start or died (no verdict). ``picture`` and ``html``:
    also write timeline.png/.svg and report.html into the run directory."""
    began = time.monotonic()
    loaded = as_loaded(scenario)
    model = loaded.scenario
    clock = app_clock(loaded, backend, dilation)
    if timeline is None:
        chosen = (
            seed if seed is not None else (model.seed if model.seed is not None else new_seed())
        )
        timeline = resolve_timeline(model, chosen)
    files = new_run_files(out_dir, model.name)
    files.write_inputs(loaded, timeline, backend)
    patches = [f.params["patch"] for f in timeline.faults if f.params.get("patch")]
    failpoints.write_plans(files.run_dir, {}, patches=patches)
    config = stack_config(loaded, files, timeline.seed)
    show = console or RunConsole(model.name, timeline.expected_tasks, quiet=quiet)
    with show, ExitStack() as services:
        services.enter_context(proxy_log_in_run_dir(files.run_dir))
        config.env = {**config.env, **start_endpoints(model, services)}
        # The shared origin exists before the first app process (the workload, below) starts.
        config.env = {**config.env,
                      **services.enter_context(clock).env(os.environ.get("LD_PRELOAD"))}
        config.clock = clock
        workload = WorkloadProcess(
            files.run_dir, timeline, model.app.name, Path(config.workdir),
            workload_env(files.run_dir, files.run_id, config), deadline=model.timeout,
            beside_workers=backend_class(backend).producer_on_engine(config),
        )  # fmt: skip
        driver = _Run(model, timeline, files, backend, show, clock)
        if clock.capped:
            show.note(f"[yellow]clock[/yellow] {clock.capped}")
        workload.spawn()  # its imports overlap the stack's start (unless beside the workers)
        driver.timings["prepare"] = time.monotonic() - began
        try:
            with open_stack(config, backend=backend) as stack:
                workload.spawn_beside_workers(stack)  # where the app's database lives, if there
                driver.timings["stack_start"] = time.monotonic() - began
                driver.drive(stack, workload)
                closing = time.monotonic()
        except StackError as exc:
            # Why the run ended; a close failing after run.finished does not rewrite it (exit 3).
            kind = "stack.close_failed" if driver.finished else "run.finished"
            with suppress(StackError):  # the journal itself may be what failed
                driver.journal.write(kind, outcome="stack_error", error=str(exc)[:1000])
            driver.journal.close()
            # A full disk fails the workload, a worker and the journal in whatever order; the
            # journal's failure is the root of the run's end when there is one.
            driver.raise_if_journal_failed(also=exc)
            raise
        except BaseException:
            driver.journal.close()
            raise
        finally:
            workload.stop()
        driver.timings["stack_stop"] = time.monotonic() - closing
        verdicts = driver.check()
    timings = driver.timings
    timings["wall"] = time.monotonic() - began
    result = RunResult(
        scenario=model.name, run_id=files.run_id, run_dir=files.run_dir, seed=timeline.seed,
        backend=backend, verdicts=verdicts, timings=timings,
        never_applied=driver.never_applied, dilation=clock.dilation,
    )  # fmt: skip
    driver.write_reports(result, picture=picture, html=html)
    result.timings["wall"] = time.monotonic() - began
    files.patch_report_timings(result.timings, result.overhead)
    return result


class _Run:
    """The state of one run while it goes on."""

    def __init__(self, scenario: Scenario, timeline: ResolvedTimeline, files: RunFiles,
                 backend: str, console: RunConsole,
                 clock: AppClock | None = None) -> None:  # fmt: skip
        self.scenario = scenario
        self.timeline = timeline
        self.files = files
        self.backend = backend
        self.console = console
        # Scenario times (at:, for:, drain, timeout) are the app's, and so is every ``now`` of
        # the loops below (self.clock.mono(): N times faster than real time under a dilated
        # clock); the loops' own cadence (ticks, queue and disk looks, settling) stays real.
        self.clock = clock or AppClock()
        self.journal = JournalWriter.for_run_dir(files.run_dir, f"runner@{socket.gethostname()}",
                                                 self.clock)  # fmt: skip
        self.states = [_FaultState(fault) for fault in timeline.faults]
        # Applies and heals run beside the loop: a worker start or a warm shutdown takes seconds,
        # and the other faults' times must not wait for it.
        self._actions = ThreadPoolExecutor(max_workers=4, thread_name_prefix="fault")
        self.timings: dict[str, float] = {}
        self.never_applied: list[str] = []
        self.history: Any = None
        self._stop = threading.Event()
        self._queue_checked = 0.0
        self._disk_checked = 0.0
        self._timed_out = False
        self.finished = False  # run.finished journaled: a later StackError is the close's

    def phase(self, name: str) -> None:
        self.journal.write("phase", name=name)
        self.console.update(phase=name)

    # --- the run on a started stack --------------------------------------------------------

    def drive(self, stack: Stack, workload: WorkloadProcess) -> None:
        self.stack = stack
        self.faults = FaultDriver(stack, self.journal, self.files.run_dir,
                                  self.scenario.topology.persistence,
                                  self.clock.dilation)  # fmt: skip
        self.follower = JournalFollower(self.files.run_dir)
        try:
            waited = time.monotonic()
            workload.connect(workload.broker_url(stack), WORKLOAD_READY_SECONDS)
            self.timings["workload_wait"] = time.monotonic() - waited
            started = self.journal.write(
                "run.started", run_id=self.files.run_id, scenario=self.scenario.name,
                seed=self.timeline.seed, backend=self.backend,
                topology=self.scenario.topology.model_dump(mode="json"),
                expected_tasks=self.timeline.expected_tasks, clock=self.clock.describe(),
            )  # fmt: skip
            # The origin of every time shown (chaos.timebase): the fault offsets count from it too.
            self.t0 = started.mono
            self.console.start_clock(started.mono, now=self.clock.mono)
            self.journal.write("run.plan", **run_plan(self.timeline))
            self.phase("workload")
            self._real_t0 = time.monotonic()
            workload.go(self.t0)
            self._timeline_loop(workload)
            self.phase("heal")
            self._heal_everything()
            self.phase("drain")
            drained = self._drain(workload)
            run_dir, direct = self.files.run_dir, stack.broker.direct_url
            stack.fetch_app_data()  # the results the workers stored, where the runner reads them
            snapshot_results(self.journal, run_dir, direct)
            journal_restore_lock(self.journal, run_dir, direct)
            ask_control(self.journal, run_dir, direct, self.clock.dilation)
            self._heal_everything(keep_armed=False)  # failpoints armed through the drain
            self.journal.write("run.finished", outcome="drained" if drained else "drain_deadline",
                               timed_out=self._timed_out, never_applied=self.never_applied)  # fmt: skip
            self.finished = True
            self.timings["timeline"] = self._real_timeline_end - self._real_t0
            self.timings["drain"] = time.monotonic() - self._real_timeline_end
            self.timings["intrinsic"] = time.monotonic() - self._real_t0
            self.timings["drained"] = 1.0 if drained else 0.0
        finally:
            workload.stop()
            self._actions.shutdown(wait=True)
            for state in self.states:
                if state.applied_at is not None and state.healed_at is None:
                    try:  # an error mid-run: undo what we did before the stack goes
                        self.faults.heal(state.fault, "aborted")
                    except StackError:
                        pass

    def _events(self, progress: RunProgress, said: set[str]) -> dict[str, float]:
        events = {"run_started": self.t0, **progress.event_times}
        if "sent" in said:
            events.setdefault("workload_done", self._sent_at)
        for state in self.states:
            if state.applied_at is not None:
                events[f"{state.fault.fault_id}.applied"] = state.applied_at
            if state.healed_at is not None:
                events[f"{state.fault.fault_id}.healed"] = state.healed_at
        return events

    def _condition(self, name: str, progress: RunProgress, said: set[str], now: float) -> bool:
        sent = "sent" in said
        durable_done = "relayed" in said or not any(
            stream.path == "durable" for stream in self.timeline.workload
        )
        if name == "workload_done":
            return sent
        if name in ("first_task_started", "first_task_succeeded"):
            return name in progress.event_times
        if name == "all_tasks_done":
            return (
                sent
                and durable_done
                and progress.in_flight == 0
                and (progress.accepted <= progress.finished)
            )
        if name == "queue_empty":
            return (sent and durable_done and progress.in_flight == 0
                    and self._queues_empty(time.monotonic()))  # fmt: skip
        raise ConfigError(f"unknown condition {name!r}")  # validation keeps this from happening

    def _queues_empty(self, now: float) -> bool:
        if now - self._queue_checked < QUEUE_CHECK_SECONDS:
            return False
        self._queue_checked = now
        try:
            self._last_queue_lengths = self.stack.queue_lengths()
        except StackError as exc:
            self._last_queue_lengths = {"unreadable": str(exc)}  # type: ignore[dict-item]
            return False  # the broker is down or paused: nothing can be said to be empty
        return not any(self._last_queue_lengths.values())

    def _timeline_loop(self, workload: WorkloadProcess) -> None:
        self._sent_at = 0.0
        deadline = self.t0 + self.scenario.timeout
        gave_up_waiting_at: float | None = None
        while True:
            now = self.clock.mono()
            self._watch_disk(time.monotonic())
            progress = self.follower.poll()
            said = workload.poll_said()
            workload.check_alive()
            if "sent" in said and not self._sent_at:
                self._sent_at = now
            self._collect_finished_actions()
            events = self._events(progress, said)
            for state in self.states:
                if state.pending:
                    base = events.get(state.fault.start_event)
                    if base is not None and now >= base + state.fault.start_offset:
                        self._apply(state)
                elif state.active:
                    self._maybe_heal(state, progress, said, now)
            self.console.update(active_faults=self._active_names(),
                                tasks_done=len(progress.finished))  # fmt: skip
            if now > deadline:
                self._timed_out = True
                break
            timed = [s for s in self.states if s.active and s.fault.end.kind in ("after", "until")]
            busy = [s for s in self.states if s.in_progress]
            waiting = [s for s in self.states if s.pending]
            known_start = [s for s in waiting if s.fault.start_event in events]
            finished_sending = "sent" in said or workload.finished
            if finished_sending and not timed and not busy and not known_start:
                if not waiting:
                    break
                # Faults waiting for an event that has not happened: give the system the drain
                # deadline to produce it, then say they were never applied.
                gave_up_waiting_at = gave_up_waiting_at or now + self.scenario.drain
                if now >= gave_up_waiting_at:
                    break
            self._stop.wait(TICK_SECONDS)
        self._timeline_end = self.clock.mono()
        self._real_timeline_end = time.monotonic()
        self.never_applied = [s.fault.fault_id for s in self.states if s.pending]
        for fault_id in self.never_applied:
            self.console.note(f"[yellow]never applied[/yellow] {fault_id}: its start event "
                              "did not happen")  # fmt: skip

    def _start_action(self, state: _FaultState, action: Callable[[], None]) -> None:
        state.in_progress = self._actions.submit(action)

    def _collect_finished_actions(self, wait: bool = False) -> None:
        """Clear finished applies and heals; a failed one is a StackError for the whole run."""
        for state in self.states:
            if state.in_progress is not None and (wait or state.in_progress.done()):
                future, state.in_progress = state.in_progress, None
                future.result()

    def _apply(self, state: _FaultState) -> None:
        def apply() -> None:
            state.applied_at = self.faults.apply(state.fault).mono
            self.console.note(f"[red]applied[/red] {state.fault.fault_id} ({state.fault.type} "
                              f"on {state.fault.target})", state.applied_at)  # fmt: skip
            if state.fault.end.kind == "instant":
                state.healed_at = state.applied_at

        self._start_action(state, apply)

    def _maybe_heal(self, state: _FaultState, progress: RunProgress, said: set[str],
                    now: float) -> None:  # fmt: skip
        end = state.fault.end
        assert state.applied_at is not None
        if end.kind == "after" and now >= state.applied_at + (end.seconds or 0.0):
            self._heal(state, "for")
        elif end.kind == "until":
            if end.condition and self._condition(end.condition, progress, said, now):
                self._heal(state, "until")
            elif now >= state.applied_at + (end.deadline or 0.0):
                self._heal(state, "deadline")

    def _heal(self, state: _FaultState, how: str) -> None:
        def heal() -> None:
            state.healed_at = self.faults.heal(state.fault, how).mono
            self.console.note(f"[green]healed[/green] {state.fault.fault_id} ({how})",
                              state.healed_at)

        self._start_action(state, heal)

    def _active_names(self) -> list[str]:
        return [state.fault.fault_id for state in self.states if state.active]

    def _heal_everything(self, keep_armed: bool = True) -> None:
        """Heal what is still applied; ``keep_armed``: all but the failpoints without ``for:`` or
        ``until:``, which stay armed through the drain (their task may not have reached them)."""
        self._collect_finished_actions(wait=True)
        for state in self.states:
            fault = state.fault
            if keep_armed and fault.type == "failpoint" and fault.end.kind == "end_of_run":
                continue
            if state.active:
                self._heal(state, "end_of_run")
        self._collect_finished_actions(wait=True)
        self.console.update(active_faults=[])

    def _drain(self, workload: WorkloadProcess) -> bool:
        """Wait until the workload is done and nothing is queued or running, or the deadline."""
        deadline = self.clock.mono() + self.scenario.drain
        settled_since: float | None = None
        while self.clock.mono() < deadline:
            now = time.monotonic()
            self._watch_disk(now)
            progress = self.follower.poll()
            workload.check_alive()
            self.console.update(tasks_done=len(progress.finished))
            quiet = workload.finished and progress.in_flight == 0
            if quiet and progress.accepted and progress.accepted <= progress.finished:
                # Every accepted task ran to its end. Redis may still hold an unacked entry whose
                # ack was lost with a broker fault: it comes back after visibility_timeout, which
                # the checks report; the run does not wait an hour for it.
                return True
            if quiet and self._queues_empty(now):
                settled_since = settled_since or now
                if now - settled_since >= SETTLE_SECONDS:
                    return True
            elif not quiet:
                settled_since = None
            self._stop.wait(TICK_SECONDS)
        progress = self.follower.poll()
        left = (
            f"queues {getattr(self, '_last_queue_lengths', {})}, attempts running "
            f"{progress.in_flight}, workload {'done' if workload.finished else 'running'}"
        )
        self.journal.write("run.drain_deadline", seconds=self.scenario.drain, left=left)
        self.console.note(f"[yellow]drain deadline[/yellow] {self.scenario.drain:g}s passed with "
                          f"work left ({left}); the checks will say what")  # fmt: skip
        return False

    # --- after the stack is gone --------------------------------------------------------------

    def check(self) -> list[Any]:
        from chaos.checks import run_checks
        from chaos.history import load_history

        self.phase("check")
        checked = time.monotonic()
        self._watch_disk(None)
        self.raise_if_journal_failed()
        try:
            self.history = load_history(self.files.run_dir)
        except ConfigError as exc:  # the run wrote it: unreadable is a failed disk, not input
            raise StackError("journal", f"the run's own journal cannot be read back: {exc}",
                             hint="an infrastructure error; no verdict") from None  # fmt: skip
        # The app refusing the workload's requests (a 400 for its Host, a 404) explains publishes
        # that were never tried: a failed "workload" verdict, not an incomplete journal.
        refused = unexpected_verdict(read_journal(self.files.run_dir))
        if refused is None:
            require_complete(self.history)
        verdicts = run_checks(self.history, expectations_of(self.scenario),
                              known_broken=self.scenario.known_broken,
                              invariants=True, relax=self.scenario.relax)  # fmt: skip
        if refused is not None:
            verdicts.append(refused)
        held = all(verdict.ok for verdict in verdicts)
        self.journal.write("run.judged", outcome="held" if held else "failed")
        self.timings["check"] = time.monotonic() - checked
        return verdicts

    def _watch_disk(self, now: float | None) -> None:
        """A StackError naming the journal as soon as the disk under the run directory is full.

        Every process of the run writes there (the journal, the logs, the app's SQLite database):
        on a full disk some of them lose what they write (the app's own errors may even be
        recorded as refused publishes), so nothing read back afterwards can back a verdict.
        Checked every ``QUEUE_CHECK_SECONDS`` (one statvfs) and before judging (``now`` None).
        """
        if now is not None:
            if now - self._disk_checked < QUEUE_CHECK_SECONDS:
                return
            self._disk_checked = now
        self.raise_if_journal_failed()
        room = self.files.disk_room()
        if room is not None and room < DISK_HEADROOM_BYTES:
            journal = self.files.run_dir / JOURNAL_FILE
            raise StackError("journal", f"the disk holding {journal} is full ({room} bytes "
                             "left): the run's journal and files may have lost writes",
                             hint="free space where the run directories go (--out); "
                                  "no verdict from an incomplete journal")  # fmt: skip

    def raise_if_journal_failed(self, also: StackError | None = None) -> None:
        """A StackError when some writer could not append (a worker's probe on a full disk):
        a history missing events would judge the system by what the disk lost."""
        failures = journal_write_failures(self.files.run_dir / JOURNAL_FILE)
        if failures:
            reason = (f"{len(failures)} writer(s) could not append to "
                      f"{self.files.run_dir / JOURNAL_FILE}: " + "; ".join(failures[:3]))
            if also is not None and also.component != "journal":
                reason += f" (and then {also.component}: {also.failure.reason})"
            raise StackError("journal", reason,
                             hint="free space where the run directories go (--out); "
                                  "no verdict from an incomplete journal") from also  # fmt: skip

    def write_reports(self, result: RunResult, picture: bool, html: bool = False) -> None:
        written = time.monotonic()
        extra = {
            "timings": result.timings,
            "overhead": result.overhead,
            "never_applied": result.never_applied,
            "timed_out": self._timed_out,
            "scenario_file": "scenario.yaml",
            "timeline_file": "timeline.json",
        }
        self.files.write_report(result.verdicts, self.history, extra, picture=picture, html=html)
        self.journal.close()
        result.timings["report"] = time.monotonic() - written
