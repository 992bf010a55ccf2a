"""The timeline picture: a run on one page for people who would rather look than read.

One row per task, time since the run started across. Fault windows are shaded bands, each attempt
a bar from its start to its end coloured by outcome, a retry a dotted link to the next attempt
(with a tick where its countdown fell due), failures a cross, an attempt whose worker was killed
a black cross at the kill (never a bar to the run's end), publishes the broker refused an
``x`` at the left. Tasks a failed verdict names are highlighted; the time execution resumed after
each healed fault is annotated over the bands.

Drawn with matplotlib's Agg canvas directly (never pyplot), so it needs no display, keeps no
global figure state, and is safe in a pytest session or a worker thread. matplotlib is the
``reports`` extra: it is imported when a picture is drawn, never when this module is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

from chaos.checks.verdict import Verdict
from chaos.extras import missing_extra_error
from chaos.history import Attempt, FaultWindow, RunHistory, TaskHistory

TIMELINE_PNG = "timeline.png"
TIMELINE_SVG = "timeline.svg"

OUTCOME_COLOURS = {
    "success": "#2e7d32",
    "retry": "#ef8c00",
    "failure": "#c62828",
    "revoked": "#6d4c41",
    "rejected": "#6d4c41",
    None: "#8a8a8a",
}
#: Band colour per fault target; anything else is grey.
TARGET_COLOURS = {
    "broker": "#d32f2f",
    "redis": "#d32f2f",
    "proxy": "#7b1fa2",
    "worker": "#1565c0",
    "failpoint": "#00838f",
}
REFUSED_COLOUR = "#b71c1c"
DUPLICATE_COLOUR = "#6a1b9a"
HIGHLIGHT_COLOUR = "#ffebee"

#: Row height in inches; the figure grows with the task count up to MAX_HEIGHT.
ROW_INCHES = 0.15
MAX_HEIGHT = 26.0
WIDTH = 13.0
#: Above this many rows only every n-th task label is printed (they would overlap).
LABELLED_ROWS = 140


@dataclass(frozen=True)
class TimelinePaths:
    """Where ``write_timeline`` put the picture."""

    png: Path
    svg: Path


@dataclass(frozen=True)
class ResumeMark:
    """Execution resumed ``seconds`` after ``window`` healed, with the attempt at ``resumed_at``."""

    window: FaultWindow
    healed_at: float
    resumed_at: float

    @property
    def seconds(self) -> float:
        return self.resumed_at - self.healed_at


def resume_marks(history: RunHistory) -> list[ResumeMark]:
    """For each healed outage (broker unreachable or refusing, a worker fault), the first
    attempt that started at or after its heal. A latency window has nothing to resume from."""
    from chaos.checks.faults import is_broker_outage, is_worker_fault

    starts = sorted(
        a.started_at
        for task in history.tasks.values()
        for a in task.attempts
        if a.started_at is not None
    )
    marks = []
    for window in history.fault_windows:
        if window.end is None or not (is_broker_outage(window) or is_worker_fault(window)):
            continue
        later = [at for at in starts if at >= window.end]
        if later:
            marks.append(ResumeMark(window, window.end, later[0]))
    return marks


def _window_colour(window: FaultWindow) -> str:
    """By what the fault hits: the type's prefix (``broker.kill``), else the target."""
    for name in (window.type, window.target):
        head = name.lower().split(".", 1)[0].split("-", 1)[0]
        if head in TARGET_COLOURS:
            return TARGET_COLOURS[head]
    return "#616161"


#: Parameters not worth a label (bookkeeping, or defaults a reader does not need).
_QUIET_PARAMS = {"toxic", "stream", "toxicity", "name", "patch", "seed", "message", "attributes"}


def _label_params(params: Mapping[str, Any]) -> list[str]:
    """``latency=500``: a toxic's attributes flattened, empty values and bookkeeping left out,
    qualified exception names shortened (``builtins.RuntimeError`` -> ``RuntimeError``)."""
    nested = params.get("attributes")
    merged = {**params, **(nested if isinstance(nested, Mapping) else {})}
    shown = []
    for key, value in merged.items():
        if key in _QUIET_PARAMS or value is None:
            continue
        text = str(value)
        if isinstance(value, str) and "." in text and text.rsplit(".", 1)[-1][:1].isupper():
            text = text.rsplit(".", 1)[-1]
        shown.append(f"{key}={text}")
    return shown


def _window_label(window: FaultWindow) -> str:
    """``broker kill``, ``proxy latency (latency=500, jitter=100)``: a fault row's label."""
    params = window.params if isinstance(window.params, Mapping) else {}
    what = str(params.get("toxic") or window.type.rsplit(".", 1)[-1])
    target = window.target if window.target != what else window.type.split(".", 1)[0]
    shown = _label_params(params)[:2]
    label = f"{target} {what}" + (f" ({', '.join(shown)})" if shown else "")
    return label if len(label) <= 60 else label[:59] + "…"


def _failed_task_ids(verdicts: Sequence[Verdict]) -> set[str]:
    return {task_id for v in verdicts if v.status != "held" for task_id in v.tasks}


def _duplicated(task: TaskHistory) -> set[int]:
    """Indexes in ``task.attempts`` of executions whose attempt number ran before."""
    seen: set[int | None] = set()
    repeats = set()
    for index, attempt in enumerate(task.attempts):
        if attempt.started_at is None:
            continue
        if attempt.attempt in seen:
            repeats.add(index)
        seen.add(attempt.attempt)
    return repeats


def _title(history: RunHistory, verdicts: Sequence[Verdict], title: str | None) -> str:
    meta = history.meta
    head = title or meta.scenario or meta.run_id or "chaos run"
    parts = [head]
    if meta.seed is not None:
        parts.append(f"seed {meta.seed}")
    if meta.backend:
        parts.append(f"{meta.backend} backend")
    if meta.clock_label:
        parts.append(meta.clock_label)
    parts.append(f"{len(history.tasks)} tasks")
    if verdicts:
        known = sum(1 for v in verdicts if v.status == "KNOWN BROKEN")
        held = sum(1 for v in verdicts if v.ok) - known
        parts.append(f"{held} of {len(verdicts)} expectations held"
                     + (f", {known} KNOWN BROKEN" if known else ""))
    return "  ·  ".join(parts)


@dataclass
class _Marks:
    """Everything drawn for the tasks, gathered per style so that each style is one artist
    (a LineCollection or one scatter): a 100-task picture stays a few dozen artists."""

    bars: dict[str | None, list] = field(default_factory=lambda: {o: [] for o in OUTCOME_COLOURS})
    starts: dict[str | None, list] = field(default_factory=lambda: {o: [] for o in OUTCOME_COLOURS})
    retry_links: list = field(default_factory=list)
    queued: list = field(default_factory=list)
    publishing: list = field(default_factory=list)
    never_ran: list = field(default_factory=list)
    countdown_due: list = field(default_factory=list)
    failures: list = field(default_factory=list)
    duplicates: list = field(default_factory=list)
    accepted: list = field(default_factory=list)
    refused: list = field(default_factory=list)
    unfinished: list = field(default_factory=list)
    killed: list = field(default_factory=list)
    never_ran_ends: list = field(default_factory=list)


def _gather(tasks: Sequence[TaskHistory], first_row: float, end: float,
            history: RunHistory) -> _Marks:  # fmt: skip
    from chaos.report.attempt_ends import attempt_end

    marks = _Marks()
    noticeable = 0.015 * end  # shorter spans would only smudge the row
    for index, task in enumerate(tasks):
        row = first_row + index
        for event in task.enqueues:
            if event.kind in ("enqueue.accepted", "outbox.relayed", "outbox.saved"):
                marks.accepted.append((event.at, row))
            elif event.kind == "enqueue.refused":
                marks.refused.append((event.at, row))
            if event.seconds is not None and event.seconds > noticeable:
                marks.publishing.append([(event.at - event.seconds, row), (event.at, row)])
        executions: list[Attempt] = [a for a in task.attempts if a.started_at is not None]
        if task.promised_at is not None and not executions:
            marks.never_ran.append([(task.promised_at, row), (end, row)])
            marks.never_ran_ends.append((end, row))
        if task.promised_at is not None and executions:
            first_start = min(a.started_at for a in executions if a.started_at is not None)
            if first_start - task.promised_at > noticeable:
                marks.queued.append([(task.promised_at, row), (first_start, row)])
        repeats = _duplicated(task)
        for position, attempt in enumerate(task.attempts):
            if attempt.started_at is None:
                continue
            outcome = attempt.outcome if attempt.outcome in OUTCOME_COLOURS else None
            stop = attempt_end(attempt, history, end)  # a killed worker's attempt ends there
            ended = stop.at
            if stop.how == "unfinished":
                marks.unfinished.append((end, row))
            elif stop.how == "killed":
                marks.killed.append((ended, row))
            marks.bars[outcome].append([(attempt.started_at, row), (max(ended, attempt.started_at), row)])
            marks.starts[outcome].append((attempt.started_at, row))
            if outcome == "failure":
                marks.failures.append((ended, row))
            if position in repeats:
                marks.duplicates.append((attempt.started_at, row))
        for before, after in pairwise(executions):
            if before.outcome != "retry" or before.ended_at is None or after.started_at is None:
                continue
            marks.retry_links.append([(before.ended_at, row), (after.started_at, row)])
            if before.retry_eta_at is not None:
                marks.countdown_due.append((before.retry_eta_at, row))
    return marks


def _scatter(axes, points: list, **style) -> None:
    if points:
        xs, ys = zip(*points)
        axes.scatter(xs, ys, **style)


def _draw_tasks(axes, marks: _Marks, rows: int) -> None:
    from matplotlib.collections import LineCollection

    size = 22 if rows <= 60 else 14 if rows <= 200 else 6
    width = 3.2 if rows <= 60 else 2.4 if rows <= 200 else 1.0
    lines = (
        (marks.publishing, {"colors": "#424242", "linewidths": 0.8, "alpha": 0.8}),
        (marks.queued, {"colors": "#bdbdbd", "linewidths": 0.8}),
        (marks.retry_links, {"colors": "#9e9e9e", "linewidths": 0.9, "linestyles": (0, (1, 1.5))}),
        (marks.never_ran, {"colors": REFUSED_COLOUR, "linewidths": 0.8, "alpha": 0.6,
                           "linestyles": (0, (4, 3))}),
    )
    for segments, style in lines:
        if segments:
            axes.add_collection(LineCollection(segments, zorder=1, **style))
    for outcome, segments in marks.bars.items():
        if segments:
            axes.add_collection(LineCollection(segments, colors=OUTCOME_COLOURS[outcome],
                                               linewidths=width, zorder=2, capstyle="butt"))
        _scatter(axes, marks.starts[outcome], s=size, color=OUTCOME_COLOURS[outcome],
                 marker="o", zorder=3, linewidths=0)
    _scatter(axes, marks.accepted, s=size * 1.2, color="#424242", marker="|", linewidths=1.0,
             zorder=3)
    _scatter(axes, marks.refused, s=size * 1.6, color=REFUSED_COLOUR, marker="x",
             linewidths=1.3, zorder=4)
    _scatter(axes, marks.countdown_due, s=size * 1.4, color=OUTCOME_COLOURS["retry"], marker=7,
             linewidths=0, zorder=3)
    _scatter(axes, marks.failures, s=size * 2.2, color=OUTCOME_COLOURS["failure"], marker="X",
             linewidths=0.4, edgecolors="white", zorder=4)
    _scatter(axes, marks.duplicates, s=size * 3.5, facecolors="none",
             edgecolors=DUPLICATE_COLOUR, marker="D", linewidths=1.2, zorder=4)
    _scatter(axes, marks.unfinished, s=size * 1.4, color=OUTCOME_COLOURS[None], marker=">",
             zorder=3, linewidths=0)
    _scatter(axes, marks.killed, s=size * 2.2, color="#000000", marker="X", linewidths=0.4,
             edgecolors="white", zorder=4)
    _scatter(axes, marks.never_ran_ends, s=size * 2, facecolors="none",
             edgecolors=REFUSED_COLOUR, marker="o", linewidths=1.1, zorder=3)


def _draw_faults(axes, history: RunHistory, end: float, task_top: float, task_bottom: float) -> None:
    """One row per fault window at the top (a bar, its label on the axis), a light band over
    the tasks for the same span, and the resume arrow on the fault's row."""
    resumed = {mark.window.fault_id: mark for mark in resume_marks(history)}
    for row, window in enumerate(history.fault_windows):
        stop = end if window.end is None else window.end
        colour = _window_colour(window)
        axes.fill_between([window.start, stop], task_top, task_bottom, color=colour, alpha=0.10,
                          lw=0, zorder=0)
        axes.barh(row, stop - window.start, left=window.start, height=0.62, color=colour,
                  alpha=0.85, hatch="//" if window.end is None else None, edgecolor="white",
                  lw=0, zorder=2)
        if window.end is None:
            axes.text(stop, row, " never healed", va="center", ha="right", fontsize=7.5,
                      color="white", fontweight="bold", zorder=5)
        mark = resumed.get(window.fault_id)
        if mark is not None:
            axes.annotate("", xy=(mark.resumed_at, row), xytext=(mark.healed_at, row),
                          arrowprops={"arrowstyle": "-|>", "color": "#2e7d32", "lw": 1.3,
                                      "shrinkA": 0, "shrinkB": 0}, zorder=4)
            axes.text(mark.resumed_at, row, f"  resumed {mark.seconds:.2f} s after heal",
                      va="center", ha="left", fontsize=8, color="#1b5e20", zorder=5)
            axes.plot([mark.resumed_at, mark.resumed_at], [row, task_bottom], color="#2e7d32",
                      lw=0.9, ls=":", zorder=0.6)


def _legend_handles(history: RunHistory, marks: _Marks) -> list:
    """Only what the picture shows: a legend of fourteen entries for four drawn is noise."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    def attempt(outcome: str | None, marker: str, label: str) -> tuple[bool, Line2D]:
        return bool(marks.bars[outcome]), Line2D([], [], color=OUTCOME_COLOURS[outcome], lw=3,
                                                 marker=marker, label=label)

    candidates = [
        attempt("success", "o", "attempt: success"),
        attempt("retry", "o", "attempt: retry"),
        attempt("failure", "X", "attempt: failure"),
        attempt(None, ">", "never finished"),
        (bool(marks.killed), Line2D([], [], color="#000000", lw=0, marker="X",
                                    label="worker killed under it")),
        (bool(marks.accepted), Line2D([], [], color="#424242", lw=1, marker="|", markersize=8,
                                      label="publish, accepted")),
        (bool(marks.refused), Line2D([], [], color=REFUSED_COLOUR, lw=0, marker="x",
                                     label="publish refused")),
        (bool(marks.queued), Line2D([], [], color="#bdbdbd", lw=1, label="queued")),
        (bool(marks.retry_links), Line2D([], [], color="#9e9e9e", lw=1, ls=":",
                                         label="retry wait")),
        (bool(marks.countdown_due), Line2D([], [], color=OUTCOME_COLOURS["retry"], lw=0,
                                           marker=7, label="countdown due")),
        (bool(marks.duplicates), Line2D([], [], color=DUPLICATE_COLOUR, lw=0, marker="D",
                                        fillstyle="none", label="duplicate execution")),
        (bool(marks.never_ran), Line2D([], [], color=REFUSED_COLOUR, lw=1, ls="--", marker="o",
                                       fillstyle="none", label="accepted, never executed")),
        (bool(resume_marks(history)), Line2D([], [], color="#2e7d32", lw=1.3, marker=">",
                                             label="resume after heal")),
    ]
    handles = [handle for shown, handle in candidates if shown]
    kinds = sorted({_window_colour(w): w.type.split(".", 1)[0] for w in history.fault_windows}.items())
    handles += [Patch(color=colour, alpha=0.6, label=f"{kind} fault") for colour, kind in kinds]
    return handles


def _label_rows(axes, history: RunHistory, tasks: Sequence[TaskHistory], first_task_row: float,
                failed_ids: set[str]) -> None:
    """Fault rows labelled in their colour, task rows in monospace; tasks a failed verdict
    names in bold red; task labels thinned when there are too many to print."""
    rows = len(tasks)
    step = 1 if rows <= LABELLED_ROWS else -(-rows // LABELLED_ROWS)
    shown = list(range(0, rows, step))
    positions = list(range(len(history.fault_windows))) + [first_task_row + i for i in shown]
    labels = [_window_label(w) for w in history.fault_windows] + [tasks[i].label for i in shown]
    axes.set_yticks(positions)
    axes.set_yticklabels(labels)
    task_size = 7.5 if rows <= 60 else 6.5 if rows <= LABELLED_ROWS else 5.5
    faults = len(history.fault_windows)
    for index, tick in enumerate(axes.get_yticklabels()):
        if index < faults:
            tick.set_color(_window_colour(history.fault_windows[index]))
            tick.set_fontweight("bold")
            tick.set_fontsize(8)
            continue
        tick.set_family("monospace")
        tick.set_fontsize(task_size)
        if tasks[shown[index - faults]].task_id in failed_ids:
            tick.set_color(REFUSED_COLOUR)
            tick.set_fontweight("bold")


def _import_matplotlib() -> Any:
    """matplotlib, or a ConfigError naming the ``reports`` extra when it is not installed."""
    try:
        import matplotlib
    except ModuleNotFoundError as exc:
        raise (missing_extra_error(exc) or exc) from None
    return matplotlib


def draw_timeline(
    history: RunHistory,
    verdicts: Sequence[Verdict] = (),
    *,
    title: str | None = None,
):  # -> matplotlib.figure.Figure (imported lazily: importing matplotlib costs about a second)
    """The run as a matplotlib Figure (Agg canvas attached), ready to save."""
    _import_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    tasks = list(history.tasks.values())
    faults = len(history.fault_windows)
    end = max(
        [1.0, history.end_at, history.meta.finished_at or 0.0]
        + [t.last_seen_at for t in tasks]
        + [w.end for w in history.fault_windows if w.end is not None],
    )
    # Fault rows first, then a half-row gap, then one row per task, first task at the top.
    first_task_row = faults + 0.5 if faults else 0.0
    bottom = first_task_row + max(len(tasks), 1) - 0.5
    rows = faults + max(len(tasks), 1)
    figure = Figure(figsize=(WIDTH, min(MAX_HEIGHT, 2.2 + ROW_INCHES * rows)), dpi=100,
                    layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    failed_ids = _failed_task_ids(verdicts)

    _draw_faults(axes, history, end, first_task_row - 0.5, bottom)
    for index, task in enumerate(tasks):
        if task.task_id in failed_ids:
            axes.axhspan(first_task_row + index - 0.5, first_task_row + index + 0.5,
                         color=HIGHLIGHT_COLOUR, lw=0, zorder=-0.1)
    marks = _gather(tasks, first_task_row, end, history)
    _draw_tasks(axes, marks, len(tasks))
    if faults:
        axes.axhline(first_task_row - 0.5, color="#e0e0e0", lw=0.8, zorder=0.5)

    axes.set_ylim(bottom, -0.6)
    axes.set_xlim(-0.02 * end, end * 1.06)
    _label_rows(axes, history, tasks, first_task_row, failed_ids)
    axes.tick_params(axis="y", length=0, pad=3)
    axes.set_xlabel("seconds since the run started")
    axes.grid(axis="x", color="#e0e0e0", lw=0.6, zorder=0)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    if not tasks:
        axes.text(0.5, 0.5, "no task events in this run", transform=axes.transAxes,
                  ha="center", va="center", color="#757575")

    figure.suptitle(_title(history, verdicts, title), fontsize=11, x=0.01, ha="left")
    failed_names = [v.name for v in verdicts if not v.ok]
    if failed_names:
        figure.text(0.99, 0.995, "FAILED: " + ", ".join(failed_names), ha="right", va="top",
                    fontsize=9, color=REFUSED_COLOUR, fontweight="bold")
    handles = _legend_handles(history, marks)
    if handles:
        figure.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 7),
                      fontsize=8, frameon=False)
    return figure


def write_timeline(
    run_dir: Path | str,
    history: RunHistory | None = None,
    verdicts: Sequence[Verdict] = (),
    *,
    title: str | None = None,
) -> TimelinePaths:
    """Draw the run's timeline into ``RUN_DIR/timeline.png`` and ``timeline.svg``.

    Without a history the run directory's journal is read.
    """
    matplotlib = _import_matplotlib()
    run_dir = Path(run_dir)
    if history is None:
        from chaos.history import load_history

        history = load_history(run_dir)
    paths = TimelinePaths(run_dir / TIMELINE_PNG, run_dir / TIMELINE_SVG)
    # Text stays text in the SVG: smaller, searchable, selectable in the HTML page.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "chaos"}):
        figure = draw_timeline(history, verdicts, title=title)
        figure.savefig(paths.png, dpi=110)
        figure.savefig(paths.svg, metadata={"Date": None})
    return paths
