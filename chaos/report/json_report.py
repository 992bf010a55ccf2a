"""``report.json``: a run's verdicts and a summary of its history, for machines and for replay.

Shape (schema 1; additive changes only)::

    {"schema": 1, "run_id", "scenario", "seed", "backend", "ok",
     "clock": {"dilation", "real_start", "label"} (a dilated run only: times are the app's),
     "summary": {"expectations", "held", "failed", "failed_checks": [...]},
     "expectations": [{"check": NAME, ...params}],   # what replay and ``chaos check`` re-run
     "verdicts": [Verdict.to_dict(), ...],
     "tasks": {"count", "by_outcome": {...}, "attempts", "refused_publishes"},
     "fault_windows": [FaultWindow.to_dict(), ...],
     "resume": [{"fault_id", "healed_at", "resumed_at", "seconds"}],
     "duration_seconds", "files": {"journal", "timeline_png", "timeline_svg", "html"},
     ...extra (whatever the caller adds, e.g. the runner's timings)}
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from chaos.checks import CHECKS
from chaos.checks.verdict import Verdict
from chaos.errors import ConfigError, Problem
from chaos.history import RunHistory, TaskHistory
from chaos.inputs import read_json
from chaos.journal import JOURNAL_FILE

REPORT_FILE = "report.json"
SCHEMA_VERSION = 1
#: Files a run directory may hold besides the journal, by their key in ``files``.
OPTIONAL_FILES = (
    ("timeline.png", "timeline_png"),
    ("timeline.svg", "timeline_svg"),
    ("report.html", "html"),
)


def task_outcome(task: TaskHistory) -> str:
    """One word for where a task ended: its final outcome (``success``, ``failure``...), else
    ``refused`` (never accepted), ``never executed`` (accepted, never run) or ``unfinished``."""
    if task.final_outcome is not None:
        return task.final_outcome
    if task.promised_at is None and task.refused:
        return "refused"
    if task.promised_at is not None and not task.executed:
        return "never executed"
    return "unfinished"


def _task_summary(history: RunHistory) -> dict[str, Any]:
    outcomes = Counter(task_outcome(task) for task in history.tasks.values())
    return {
        "count": len(history.tasks),
        "by_outcome": dict(sorted(outcomes.items())),
        "attempts": sum(len(task.executions) for task in history.tasks.values()),
        "refused_publishes": sum(
            1 for e in history.producer_events if e.kind == "enqueue.refused"
        ),
    }


def build_report(
    verdicts: Sequence[Verdict],
    history: RunHistory | None = None,
    *,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The report as a JSON-ready dict; ``extra`` keys are added last (they may override)."""
    from chaos.report.timeline import resume_marks

    failed = [v.name for v in verdicts if not v.ok]
    report: dict[str, Any] = {"schema": SCHEMA_VERSION}
    if history is not None:
        meta = history.meta
        report.update(run_id=meta.run_id, scenario=meta.scenario, seed=meta.seed,
                      backend=meta.backend)
        clock = meta.extra.get("clock")
        if isinstance(clock, Mapping) and clock.get("dilation", 1.0) != 1.0:
            # Every time in this report is the app's: seconds of a clock N times faster.
            report["clock"] = {**clock, "label": f"dilated x{clock['dilation']:g}"}
    report["ok"] = not failed
    report["summary"] = {
        "expectations": len(verdicts),
        "held": len(verdicts) - len(failed),
        "failed": len(failed),
        "failed_checks": failed,
    }
    known = [v.name for v in verdicts if v.status == "KNOWN BROKEN"]
    if known:  # only then: reports of runs without known breakage keep their shape
        report["summary"].update(held=len(verdicts) - len(failed) - len(known),
                                 known_broken=len(known), known_broken_checks=known)
    # What chaos check and replay re-run: the scenario's own checks. The always-on invariants run
    # anyway, and a scenario-wide known_broken's "now holds" verdict is no check of its own.
    report["expectations"] = [{"check": v.name, **v.params} for v in verdicts
                              if v.name in CHECKS]  # fmt: skip
    report["verdicts"] = [v.to_dict() for v in verdicts]
    if history is not None:
        report["tasks"] = _task_summary(history)
        report["fault_windows"] = [w.to_dict() for w in history.fault_windows]
        report["resume"] = [
            {
                "fault_id": mark.window.fault_id,
                "healed_at": mark.healed_at,
                "resumed_at": mark.resumed_at,
                "seconds": mark.seconds,
            }
            for mark in resume_marks(history)
        ]
        report["duration_seconds"] = history.meta.finished_at or history.end_at
    report["files"] = {"journal": JOURNAL_FILE}
    if extra:
        report.update(extra)
    return report


def write_json(
    run_dir: Path | str,
    verdicts: Sequence[Verdict],
    history: RunHistory | None = None,
    *,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``RUN_DIR/report.json`` atomically (a reader never sees half a report)."""
    run_dir = Path(run_dir)
    report = build_report(verdicts, history, extra=extra)
    report["files"].update(_present_files(run_dir))
    return _write_atomically(run_dir / REPORT_FILE, report)


def _present_files(run_dir: Path) -> dict[str, str]:
    return {key: name for name, key in OPTIONAL_FILES if (run_dir / name).is_file()}


def _write_atomically(path: Path, report: Mapping[str, Any]) -> Path:
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(report, indent=2, default=str) + "\n")
    partial.replace(path)
    return path


def list_report_files(run_dir: Path | str) -> Path | None:
    """Bring report.json's ``files`` up to date after a picture or page was drawn later;
    None when the run directory has no report.json."""
    path = Path(run_dir) / REPORT_FILE
    if not path.is_file():
        return None
    report = read_report(path)
    report.setdefault("files", {"journal": JOURNAL_FILE}).update(_present_files(Path(run_dir)))
    return _write_atomically(path, report)


def read_report(run_dir: Path | str) -> dict[str, Any]:
    """``RUN_DIR/report.json`` as a dict; a ConfigError naming the file if absent or malformed."""
    path = Path(run_dir)
    if path.is_dir():
        path = path / REPORT_FILE
    if not path.is_file():
        raise ConfigError([Problem("no report here", file=path,
                                   hint="run 'chaos check RUN_DIR' to judge the journal")])  # fmt: skip
    document = read_json(path, what="a report.json")
    if not isinstance(document, dict):
        raise ConfigError([Problem("not a report", file=path, expected="a JSON object")])
    return document


def read_verdicts(run_dir: Path | str) -> list[Verdict]:
    """The verdicts stored in ``report.json``, as Verdict objects."""
    path = Path(run_dir)
    document = read_report(path)
    records = document.get("verdicts")
    if not isinstance(records, list):
        where = path / REPORT_FILE if path.is_dir() else path
        raise ConfigError([Problem("no verdicts list", file=where, field_path="verdicts",
                                   expected="a list of verdicts")])
    return [Verdict.from_dict(record) for record in records]
