"""The timeline picture: a run on one page for people who would rather look than read.

One row per task, time since the run started across. Fault windows are shaded bands, each attempt
a bar from its start to its end coloured by outcome, a retry a dotted link to the next attempt
(with a tick where its countdown fell due), failures a cross, publishes the broker refused an
``x`` at the left. Tasks a failed verdict names are highlighted; the time execution resumed after
each healed fault is annotated over the bands.

Drawn with matplotlib's Agg canvas directly (never pyplot), so it needs no display, keeps no
global figure state, and is safe in a pytest session or a worker thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from chaos.checks.verdict import Verdict
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
MAX_HEIGHT = 60.0
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
    target = window.target.lower().split("-", 1)[0].split(".", 1)[0]
    return TARGET_COLOURS.get(target, "#616161")


def _window_label(window: FaultWindow) -> str:
    what = window.type.rsplit(".", 1)[-1]
    toxic = window.params.get("toxic") if isinstance(window.params, dict) else None
    if toxic:
        what = str(toxic)
    return f"{window.target} {what}"


def _failed_task_ids(verdicts: Sequence[Verdict]) -> set[str]:
    return {task_id for v in verdicts if not v.ok for task_id in v.tasks}


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
    parts.append(f"{len(history.tasks)} tasks")
    if verdicts:
        held = sum(1 for v in verdicts if v.ok)
        parts.append(f"{held} of {len(verdicts)} expectations held")
    return "  ·  ".join(parts)


def draw_timeline(
    history: RunHistory,
    verdicts: Sequence[Verdict] = (),
    *,
    title: str | None = None,
):  # -> matplotlib.figure.Figure (imported lazily: matplotlib costs ~0.3 s to import)
    """The run as a matplotlib Figure (Agg canvas attached), ready to save."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.transforms import blended_transform_factory

    tasks = list(history.tasks.values())
    rows = max(len(tasks), 1)
    end = max(
        [history.end_at, history.meta.finished_at or 0.0]
        + [t.last_seen_at for t in tasks]
        + [w.end for w in history.fault_windows if w.end is not None],
    )
    end = max(end, 1.0)
    height = min(MAX_HEIGHT, 2.4 + ROW_INCHES * rows)
    figure = Figure(figsize=(WIDTH, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    failed_ids = _failed_task_ids(verdicts)
    marker_size = 22 if rows <= 60 else 14 if rows <= 200 else 6
    bar_width = 3.2 if rows <= 60 else 2.4 if rows <= 200 else 1.0

    # Fault windows: bands across every row, labelled above the plot.
    over_top = blended_transform_factory(axes.transData, axes.transAxes)
    for index, window in enumerate(history.fault_windows):
        stop = end if window.end is None else window.end
        colour = _window_colour(window)
        axes.axvspan(window.start, stop, color=colour, alpha=0.13, lw=0, zorder=0)
        axes.axvline(window.start, color=colour, lw=0.8, alpha=0.6, zorder=0.5)
        if window.end is None:
            axes.axvspan(window.start, stop, fill=False, hatch="//", edgecolor=colour,
                         alpha=0.35, lw=0, zorder=0)
        else:
            axes.axvline(stop, color=colour, lw=0.8, alpha=0.6, ls="--", zorder=0.5)
        label = _window_label(window) + ("" if window.end is not None else " (never healed)")
        axes.text((window.start + stop) / 2, 1.0 + 0.012 * (1 + index % 2), label,
                  transform=over_top, ha="center", va="bottom", fontsize=8, color=colour,
                  fontweight="bold", clip_on=False)

    # Rows of tasks named by a failed verdict get a tinted background.
    for row, task in enumerate(tasks):
        if task.task_id in failed_ids:
            axes.axhspan(row - 0.5, row + 0.5, color=HIGHLIGHT_COLOUR, lw=0, zorder=0.2)

    bars: dict[str | None, list] = {outcome: [] for outcome in OUTCOME_COLOURS}
    starts: dict[str | None, tuple[list[float], list[float]]] = {
        outcome: ([], []) for outcome in OUTCOME_COLOURS
    }
    links: list = []
    due_x: list[float] = []
    due_y: list[float] = []
    fail_x: list[float] = []
    fail_y: list[float] = []
    dup_x: list[float] = []
    dup_y: list[float] = []
    accepted_x: list[float] = []
    accepted_y: list[float] = []
    refused_x: list[float] = []
    refused_y: list[float] = []
    open_x: list[float] = []
    open_y: list[float] = []
    waits: list = []
    queued: list = []
    never_x: list[float] = []
    never_y: list[float] = []

    for row, task in enumerate(tasks):
        for event in task.enqueues:
            if event.kind in ("enqueue.accepted", "outbox.relayed", "outbox.saved"):
                accepted_x.append(event.at)
                accepted_y.append(row)
            elif event.kind == "enqueue.refused":
                refused_x.append(event.at)
                refused_y.append(row)
        if task.promised_at is not None and not task.executed:
            waits.append([(task.promised_at, row), (end, row)])
            never_x.append(end)
            never_y.append(row)
        repeats = _duplicated(task)
        executions: list[Attempt] = [a for a in task.attempts if a.started_at is not None]
        first_start = min((a.started_at for a in executions if a.started_at is not None),
                          default=None)
        if task.promised_at is not None and first_start is not None \
                and first_start - task.promised_at > 0.02 * end:
            queued.append([(task.promised_at, row), (first_start, row)])
        for index, attempt in enumerate(task.attempts):
            if attempt.started_at is None:
                continue
            started = attempt.started_at
            ended = attempt.ended_at
            outcome = attempt.outcome if attempt.outcome in OUTCOME_COLOURS else None
            if ended is None:
                open_x.append(end)
                open_y.append(row)
                ended = end
            bars[outcome].append([(started, row), (max(ended, started), row)])
            starts[outcome][0].append(started)
            starts[outcome][1].append(row)
            if outcome == "failure":
                fail_x.append(ended)
                fail_y.append(row)
            if index in repeats:
                dup_x.append(started)
                dup_y.append(row)
        for before, after in zip(executions, executions[1:]):
            if before.outcome != "retry" or before.ended_at is None or after.started_at is None:
                continue
            links.append([(before.ended_at, row), (after.started_at, row)])
            if before.retry_eta_at is not None:
                due_x.append(before.retry_eta_at)
                due_y.append(row)

    axes.add_collection(LineCollection(waits, colors=REFUSED_COLOUR, linewidths=0.8,
                                       linestyles=(0, (4, 3)), alpha=0.6, zorder=1))
    axes.scatter(never_x, never_y, s=marker_size * 2, facecolors="none",
                 edgecolors=REFUSED_COLOUR, marker="o", linewidths=1.1, zorder=3)
    axes.add_collection(LineCollection(queued, colors="#bdbdbd", linewidths=0.8, zorder=1))
    axes.add_collection(LineCollection(links, colors="#9e9e9e", linewidths=0.9,
                                       linestyles=(0, (1, 1.5)), zorder=1))
    for outcome, segments in bars.items():
        if segments:
            axes.add_collection(LineCollection(segments, colors=OUTCOME_COLOURS[outcome],
                                               linewidths=bar_width, zorder=2,
                                               capstyle="butt"))
        xs, ys = starts[outcome]
        if xs:
            axes.scatter(xs, ys, s=marker_size, color=OUTCOME_COLOURS[outcome], marker="o",
                         zorder=3, linewidths=0)
    axes.scatter(accepted_x, accepted_y, s=marker_size * 1.2, color="#424242", marker="|",
                 linewidths=1.0, zorder=3)
    axes.scatter(refused_x, refused_y, s=marker_size * 1.6, color=REFUSED_COLOUR, marker="x",
                 linewidths=1.3, zorder=4)
    axes.scatter(due_x, due_y, s=marker_size * 1.4, color="#ef8c00", marker=7,
                 linewidths=0, zorder=3)
    axes.scatter(fail_x, fail_y, s=marker_size * 2.2, color=OUTCOME_COLOURS["failure"],
                 marker="X", linewidths=0.4, edgecolors="white", zorder=4)
    axes.scatter(dup_x, dup_y, s=marker_size * 3.5, facecolors="none",
                 edgecolors=DUPLICATE_COLOUR, marker="D", linewidths=1.2, zorder=4)
    axes.scatter(open_x, open_y, s=marker_size * 1.4, color=OUTCOME_COLOURS[None], marker=">",
                 zorder=3, linewidths=0)

    # Resume annotations: an arrow from the heal to the first execution after it.
    for number, mark in enumerate(resume_marks(history)):
        colour = _window_colour(mark.window)
        axes.axvline(mark.resumed_at, color="#2e7d32", lw=0.9, ls=":", zorder=0.6)
        height_frac = 0.985 - 0.035 * (number % 3)
        axes.annotate("", xy=(mark.resumed_at, height_frac), xytext=(mark.healed_at, height_frac),
                      xycoords=over_top, textcoords=over_top,
                      arrowprops={"arrowstyle": "->", "color": "#2e7d32", "lw": 1.2})
        axes.text(mark.resumed_at, height_frac, f"  resumed {mark.seconds:.2f} s after heal",
                  transform=over_top, ha="left", va="center", fontsize=8, color="#1b5e20",
                  bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": colour, "lw": 0.6,
                        "alpha": 0.9}, zorder=6)

    # Axes: one row per task, first task at the top, labels thinned when they would collide.
    axes.set_ylim(rows - 0.5, -0.5 - max(1.2, rows * 0.04))
    axes.set_xlim(-0.02 * end, end * 1.02)
    step = 1 if rows <= LABELLED_ROWS else -(-rows // LABELLED_ROWS)
    shown = list(range(0, len(tasks), step))
    axes.set_yticks(shown)
    axes.set_yticklabels([tasks[i].label for i in shown],
                         fontsize=7.5 if rows <= 60 else 6.5 if rows <= LABELLED_ROWS else 5.5,
                         family="monospace")
    for tick_index, row in enumerate(shown):
        if tasks[row].task_id in failed_ids:
            label = axes.get_yticklabels()[tick_index]
            label.set_color(REFUSED_COLOUR)
            label.set_fontweight("bold")
    axes.tick_params(axis="y", length=0, pad=3)
    axes.set_xlabel("seconds since the run started")
    axes.grid(axis="x", color="#e0e0e0", lw=0.6, zorder=0)
    axes.grid(axis="y", color="#f3f3f3", lw=0.5, zorder=0)
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

    handles = [
        Line2D([], [], color=OUTCOME_COLOURS["success"], lw=3, marker="o", label="attempt: success"),
        Line2D([], [], color=OUTCOME_COLOURS["retry"], lw=3, marker="o", label="attempt: retry"),
        Line2D([], [], color=OUTCOME_COLOURS["failure"], lw=3, marker="X", label="attempt: failure"),
        Line2D([], [], color=OUTCOME_COLOURS[None], lw=3, marker=">", label="never finished"),
        Line2D([], [], color="#bdbdbd", lw=1, label="queued"),
        Line2D([], [], color="#9e9e9e", lw=1, ls=":", label="retry wait"),
        Line2D([], [], color="#ef8c00", lw=0, marker=7, label="countdown due"),
        Line2D([], [], color="#424242", lw=0, marker="|", markersize=8, label="enqueue accepted"),
        Line2D([], [], color=REFUSED_COLOUR, lw=0, marker="x", label="enqueue refused"),
        Line2D([], [], color=DUPLICATE_COLOUR, lw=0, marker="D", fillstyle="none",
               label="duplicate execution"),
        Line2D([], [], color=REFUSED_COLOUR, lw=1, ls="--", marker="o", fillstyle="none",
               label="accepted, never executed"),
    ]
    targets = sorted({_window_colour(w): w.target for w in history.fault_windows}.items())
    handles += [Patch(color=colour, alpha=0.25, label=f"{target} fault")
                for colour, target in targets]
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
    import matplotlib

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
