"""A run directory's files: what goes in before the run (scenario, seed, resolved timeline) so the
run can be replayed, and what comes out after (report.json, the timeline picture).

Layout::

    RUN_DIR/scenario.yaml    the scenario as run (the file's own text when it came from a file)
    RUN_DIR/timeline.json    the resolved timeline, seed included
    RUN_DIR/run.json         run id, scenario name, seed, backend, source path
    RUN_DIR/journal.jsonl    every event (chaos.journal)
    RUN_DIR/report.json      verdicts and timings (chaos.report.json_report)
    RUN_DIR/report.html      the page to explore (chaos.report.html_page), unless --no-report
    RUN_DIR/timeline.png     the picture (and timeline.svg), unless --no-report or --no-picture
"""

from __future__ import annotations

import datetime
import errno
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaos.errors import ChaosError, ConfigError, Problem, StackError
from chaos.inputs import MAX_SCENARIO_BYTES, read_json, read_text
from chaos.scenario import LoadedScenario, load_scenario_text
from chaos.journal import JOURNAL_FILE
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
        record = {
            "run_id": self.run_id,
            "scenario": timeline.scenario,
            "seed": timeline.seed,
            "backend": backend,
            "source": str(loaded.path) if loaded.path else None,
        }
        for name, text in ((SCENARIO_FILE, loaded.text),
                           (TIMELINE_FILE, timeline.model_dump_json(indent=2) + "\n"),
                           (RUN_FILE, json.dumps(record, indent=2) + "\n")):  # fmt: skip
            try:
                (self.run_dir / name).write_text(text, encoding="utf-8")
            except OSError as exc:
                raise run_files_error(exc, self.run_dir / name, "write") from None

    def disk_room(self) -> int | None:
        """Bytes this process can still write on the run directory's file system (None when it
        cannot be asked): root may use the blocks reserved for it, others may not."""
        try:
            stats = os.statvfs(self.run_dir)
        except OSError:
            return None
        blocks = stats.f_bfree if os.geteuid() == 0 else stats.f_bavail
        return blocks * stats.f_frsize

    def write_report(self, verdicts: list[Any], history: Any, extra: dict[str, Any],
                     picture: bool = False, html: bool = False) -> Path:  # fmt: skip
        """report.json through the report package, the timeline picture and the HTML page if
        asked (plotting costs seconds, mostly importing matplotlib; the page a few ms)."""
        try:
            from chaos.report import write_html, write_json, write_timeline
        except ImportError:
            return self._write_minimal_report(verdicts, extra)
        # The picture and the page are niceties: never lose the verdicts over them.
        try:
            if picture:
                write_timeline(self.run_dir, history, verdicts)
        except Exception as exc:  # noqa: BLE001
            extra = {**extra, "timeline_error": repr(exc)}
        path = write_json(self.run_dir, verdicts, history, extra=extra)
        try:
            if html:
                write_html(self.run_dir, history, verdicts)
        except Exception as exc:  # noqa: BLE001
            write_json(self.run_dir, verdicts, history, extra={**extra, "html_error": repr(exc)})
        return path

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


#: Errors of the disk under the run directory rather than of the path the user chose.
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG})


def run_files_error(exc: OSError, path: Path, doing: str) -> ChaosError:
    """An OSError met while writing a run directory, as what the caller can act on: a full or
    failing disk is an infrastructure error (StackError, exit 3); a path that is a file, missing
    permissions or a read-only file system are bad input (the ``--out`` given; ConfigError,
    exit 2)."""
    reason = exc.strerror or str(exc)
    if exc.errno in DISK_ERRNOS:
        return StackError("run directory", f"cannot {doing} {path}: {reason}",
                          hint="free space where the run directories go (--out)")  # fmt: skip
    return ConfigError([Problem(f"cannot {doing} the run directory here: {reason}", file=path,
                                field_path="--out",
                                expected="a writable directory (or a path where one can be made)")])  # fmt: skip


def new_run_files(out_dir: Path | str | None, scenario_name: str) -> RunFiles:
    """A fresh run directory: ``OUT/<scenario>-<UTC time>-<4 hex>``."""
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S")
    run_id = f"{_slug(scenario_name)}-{stamp}-{secrets.token_hex(2)}"
    out = Path(out_dir) if out_dir is not None else DEFAULT_OUT_DIR
    run_dir = out / run_id
    try:
        run_dir.mkdir(parents=True, exist_ok=False)
    except OSError as exc:
        raise run_files_error(exc, out, "create") from None
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
    """The scenario, resolved timeline, backend and verdicts of a finished run.

    Every file is read within the limits of ``chaos.inputs``; a journal, when present, must be
    events only and record this run's start, and a report.json, when present, must hold a
    non-empty list of verdicts. Anything else is a ConfigError naming the file: a replay of a run
    dir holding garbage would otherwise compare nothing and say "match" (``require_finished``
    says whether both are there).
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ConfigError([Problem("no such run directory", file=run_dir,
                                   expected="a directory written by chaos run")])  # fmt: skip
    missing = [name for name in (SCENARIO_FILE, TIMELINE_FILE) if not (run_dir / name).is_file()]
    if missing:
        raise ConfigError([Problem(f"not a run directory: {', '.join(missing)} missing",
                                   file=run_dir)])  # fmt: skip
    record_path = run_dir / RUN_FILE
    record = read_json(record_path, what="a run.json") if record_path.is_file() else {}
    if not isinstance(record, dict):
        raise ConfigError([Problem("not a run record", file=record_path,
                                   expected="a JSON object")])  # fmt: skip
    source = record.get("source")
    # Read from where it was written, so that a relative app workdir resolves as it did then.
    text = read_text(run_dir / SCENARIO_FILE, max_bytes=MAX_SCENARIO_BYTES, what="a scenario")
    loaded = load_scenario_text(text, str(source) if source else run_dir / SCENARIO_FILE)
    timeline_path = run_dir / TIMELINE_FILE
    try:
        timeline = ResolvedTimeline.model_validate(read_json(timeline_path, what="a timeline"))
    except ValueError as exc:
        raise ConfigError([Problem(f"not a resolved timeline: {exc}", file=timeline_path)]) from None
    if (run_dir / JOURNAL_FILE).is_file():
        _check_journal_records(run_dir / JOURNAL_FILE, record.get("run_id"), timeline.seed)
    backend = str(record.get("backend") or "local")
    report = run_dir / REPORT_FILE
    verdicts = _recorded_verdicts(report) if report.is_file() else None
    return RecordedRun(run_dir, loaded, timeline, backend, verdicts)


def require_finished(run_dir: Path | str) -> None:
    """A ConfigError unless ``run_dir`` holds what a comparison needs: its journal and its
    report (``read_recorded_run`` has checked both when present)."""
    run_dir = Path(run_dir)
    missing = [name for name in (JOURNAL_FILE, REPORT_FILE) if not (run_dir / name).is_file()]
    if missing:
        raise ConfigError([Problem(f"not a finished run directory: {', '.join(missing)} missing",
                                   file=run_dir,
                                   hint="a run that ended without verdicts cannot be compared; "
                                        "chaos run its scenario instead")])  # fmt: skip


def _check_journal_records(path: Path, run_id: Any, seed: int) -> None:
    """The journal parses as events and records the start of this run (its id and seed)."""
    from chaos.journal import read_journal

    started = []
    try:
        for event in read_journal(path):
            if event.kind == "run.started":
                started.append(event)
    except RecursionError:
        raise ConfigError([Problem("a journal line is nested too deeply to be an event",
                                   file=path)]) from None  # fmt: skip
    except UnicodeDecodeError:
        raise ConfigError([Problem("not a journal: not UTF-8 text", file=path)]) from None
    matching = [event for event in started
                if event.data.get("seed") == seed
                and (run_id is None or event.data.get("run_id") == run_id)]  # fmt: skip
    if not matching:
        raise ConfigError([Problem("the journal does not record this run's start",
                                   file=path,
                                   expected=f"a run.started event with run_id {run_id!r} and "
                                            f"seed {seed}")])  # fmt: skip


def _recorded_verdicts(path: Path) -> list[Any]:
    """The verdicts of report.json: a non-empty list, each one a verdict."""
    from chaos.checks import Verdict

    report = read_json(path, what="a report.json")
    verdicts = report.get("verdicts") if isinstance(report, dict) else None
    if not isinstance(verdicts, list) or not verdicts:
        raise ConfigError([Problem("no recorded verdicts to compare with", file=path,
                                   field_path="verdicts",
                                   expected="a non-empty list of verdicts")])  # fmt: skip
    try:
        return [Verdict.from_dict(entry) for entry in verdicts]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError([Problem(f"not a verdict: {exc!r}", file=path,
                                   field_path="verdicts")]) from None  # fmt: skip
