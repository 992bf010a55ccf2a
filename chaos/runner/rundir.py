"""A run directory's files: what goes in before the run (scenario, seed, resolved timeline) so the
run can be replayed, and what comes out after (report.json, the timeline picture).

Layout::

    RUN_DIR/scenario.yaml    the scenario as run (the file's own text when it came from a file)
    RUN_DIR/timeline.json    the resolved timeline, seed included
    RUN_DIR/run.json         run id, scenario name, seed, backend, source path
    RUN_DIR/journal.jsonl    every event (chaos.journal)
    RUN_DIR/report.json      verdicts and timings (chaos.report.json_report)
"""

from __future__ import annotations

import datetime
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaos.errors import ConfigError, Problem
from chaos.scenario import LoadedScenario, load_scenario_text
from chaos.scenario.timeline import TIMELINE_FILE, ResolvedTimeline

SCENARIO_FILE = "scenario.yaml"
RUN_FILE = "run.json"
REPORT_FILE = "report.json"
DEFAULT_OUT_DIR = Path(".chaos") / "runs"


@dataclass(frozen=True)
class RunFiles:
    run_id: str
    run_dir: Path

    def write_inputs(self, loaded: LoadedScenario, timeline: ResolvedTimeline,
                     backend: str) -> None:  # fmt: skip
        (self.run_dir / SCENARIO_FILE).write_text(loaded.text, encoding="utf-8")
        (self.run_dir / TIMELINE_FILE).write_text(timeline.model_dump_json(indent=2) + "\n")
        record = {
            "run_id": self.run_id,
            "scenario": timeline.scenario,
            "seed": timeline.seed,
            "backend": backend,
            "source": str(loaded.path) if loaded.path else None,
        }
        (self.run_dir / RUN_FILE).write_text(json.dumps(record, indent=2) + "\n")

    def write_report(self, verdicts: list[Any], history: Any, extra: dict[str, Any],
                     picture: bool = False) -> Path:  # fmt: skip
        """report.json through the report package, and the timeline picture if asked (plotting
        costs seconds, mostly importing matplotlib)."""
        try:
            from chaos.report import write_json, write_timeline
        except ImportError:
            return self._write_minimal_report(verdicts, extra)
        try:
            if picture:
                write_timeline(self.run_dir, history, verdicts)
        # A picture is a nicety: never lose the verdicts over it.
        except Exception as exc:  # noqa: BLE001
            extra = {**extra, "timeline_error": repr(exc)}
        return write_json(self.run_dir, verdicts, history, extra=extra)

    def _write_minimal_report(self, verdicts: list[Any], extra: dict[str, Any]) -> Path:
        report = {
            "ok": all(v.ok for v in verdicts),
            "expectations": [{"check": v.name, **v.params} for v in verdicts],
            "verdicts": [v.to_dict() for v in verdicts],
            **extra,
        }
        path = self.run_dir / REPORT_FILE
        path.write_text(json.dumps(report, indent=2, default=str) + "\n")
        return path

    def patch_report_timings(self, timings: dict[str, float], overhead: float | None) -> None:
        """Put the final wall time (known only after the report was written) into report.json."""
        path = self.run_dir / REPORT_FILE
        report = json.loads(path.read_text())
        report["timings"] = timings
        report["overhead"] = overhead
        staging = path.with_name(f".{REPORT_FILE}.{os.getpid()}.tmp")
        staging.write_text(json.dumps(report, indent=2, default=str) + "\n")
        staging.replace(path)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "scenario"


def new_run_files(out_dir: Path | str | None, scenario_name: str) -> RunFiles:
    """A fresh run directory: ``OUT/<scenario>-<UTC time>-<4 hex>``."""
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S")
    run_id = f"{_slug(scenario_name)}-{stamp}-{secrets.token_hex(2)}"
    run_dir = (Path(out_dir) if out_dir is not None else DEFAULT_OUT_DIR) / run_id
    run_dir.mkdir(parents=True, exist_ok=False)
    return RunFiles(run_id=run_id, run_dir=run_dir.resolve())


@dataclass(frozen=True)
class RecordedRun:
    """What a run directory says was run: enough to run it again."""

    run_dir: Path
    loaded: LoadedScenario
    timeline: ResolvedTimeline
    backend: str
    verdicts: list[Any] | None


def read_recorded_run(run_dir: Path | str) -> RecordedRun:
    """The scenario, resolved timeline, backend and verdicts of a finished run."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ConfigError([Problem("no such run directory", file=run_dir,
                                   expected="a directory written by chaos run")])  # fmt: skip
    missing = [name for name in (SCENARIO_FILE, TIMELINE_FILE) if not (run_dir / name).is_file()]
    if missing:
        raise ConfigError([Problem(f"not a run directory: {', '.join(missing)} missing",
                                   file=run_dir)])  # fmt: skip
    record = json.loads((run_dir / RUN_FILE).read_text()) if (run_dir / RUN_FILE).is_file() else {}
    source = record.get("source")
    # Read from where it was written, so that a relative app workdir resolves as it did then.
    text = (run_dir / SCENARIO_FILE).read_text(encoding="utf-8")
    loaded = load_scenario_text(text, source or run_dir / SCENARIO_FILE)
    timeline_path = run_dir / TIMELINE_FILE
    try:
        timeline = ResolvedTimeline.model_validate_json(timeline_path.read_text())
    except ValueError as exc:
        raise ConfigError([Problem(f"not a resolved timeline: {exc}", file=timeline_path)]) from exc
    backend = str(record.get("backend") or "local")
    verdicts = None
    if (run_dir / REPORT_FILE).is_file():
        from chaos.checks import Verdict

        report = json.loads((run_dir / REPORT_FILE).read_text())
        verdicts = [Verdict.from_dict(record) for record in report.get("verdicts", [])]
    return RecordedRun(run_dir, loaded, timeline, backend, verdicts)
