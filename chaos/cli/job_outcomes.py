"""The pure parts of ``chaos run --jobs N``: the option's bounds, each job's command line and
engine, and what a finished job says (its exit code, its JUnit file, the last line of its log).

Kept apart from the process handling (``chaos.cli.run_jobs``) so they can be tested without
starting anything.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

MAX_JOBS = 16
#: Exit codes from best to worst; anything else a child returns (a signal, a crash) counts as an
#: infrastructure error: it said nothing about the system under test.
EXIT_ORDER = (0, 1, 2, 3)
EXIT_INFRASTRUCTURE = 3


def jobs_count(text: str) -> int:
    """``--jobs``' type: a whole number from 1 to MAX_JOBS (argparse exits 2 naming --jobs)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_JOBS:
        raise argparse.ArgumentTypeError(
            f"--jobs takes a whole number from 1 to {MAX_JOBS} (scenarios run at once), "
            f"not {text!r}"
        )
    return value


def engine_for_slot(hosts: list[str], slot: int) -> str | None:
    """The engine of job slot ``slot``: round-robin, as xdist worker gwN takes engine N mod
    count. A job started in a freed slot takes that slot's engine, so each engine keeps its share
    of the stacks running at once. None without hosts (the process's own DOCKER_HOST)."""
    return hosts[slot % len(hosts)] if hosts else None


def worst_exit(codes: list[int]) -> int:
    """The exit code of the whole run: the worst of the jobs' (0 when there were none)."""
    ranked = [code if code in EXIT_ORDER else EXIT_INFRASTRUCTURE for code in codes]
    return max(ranked, default=0)


@dataclass(frozen=True)
class Job:
    """One scenario file to run, and where its child writes its console output and JUnit."""

    index: int
    path: Path
    log: Path
    junit: Path


def plan_jobs(files: list[Path], jobs_dir: Path) -> list[Job]:
    return [
        Job(index, path, jobs_dir / f"{index + 1:02d}-{path.stem}.log",
            jobs_dir / f"{index + 1:02d}-{path.stem}.xml")
        for index, path in enumerate(files)
    ]  # fmt: skip


def child_argv(job: Job, args: argparse.Namespace, out_dir: Path) -> list[str]:
    """``chaos`` arguments for one job: the parent's own options, one file, and a JUnit file the
    parent reads its verdicts from (the child's console goes to the log)."""
    argv = ["--debug"] if getattr(args, "debug", False) else []
    argv += ["run", str(job.path), "--backend", args.backend, "--out", str(out_dir),
             "--junit", str(job.junit)]  # fmt: skip
    if args.seed is not None:
        argv += ["--seed", str(args.seed)]
    if args.dilation is not None:
        argv += ["--dilation", repr(args.dilation)]
    argv += [flag for flag, on in (("--no-picture", args.no_picture),
                                   ("--no-report", args.no_report)) if on]  # fmt: skip
    return argv


@dataclass(frozen=True)
class Outcome:
    """What one finished job says: enough for its line and the closing summary."""

    job: Job
    code: int
    seconds: float
    engine: str | None
    scenario: str
    run_dir: Path | None = None
    verdicts: int = 0
    failed: int = 0
    known_broken: int = 0
    error: str = ""

    @property
    def label(self) -> str:
        if self.code == 0:
            return "held" if not self.known_broken else "KNOWN BROKEN"
        if self.code == 1:
            return "FAILED"
        if self.code == 2:
            return "bad input"
        return "no verdict"

    def report(self) -> Path | None:
        """The page to open (report.html), else report.json, if the child wrote one."""
        if self.run_dir is None:
            return None
        for name in ("report.html", "report.json"):
            if (self.run_dir / name).is_file():
                return self.run_dir / name
        return None


def read_outcome(job: Job, code: int, seconds: float, engine: str | None) -> Outcome:
    """A finished job's outcome from its exit code, its JUnit file (when it got to verdicts) and
    the last line of its log (the error, when it did not)."""
    suite = _suite(job.junit) if code in (0, 1) else None
    if suite is None:
        return Outcome(job, code, seconds, engine, job.path.stem, error=last_line(job.log, code))
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    run_dir = properties.get("run_dir")
    return Outcome(
        job, code, seconds, engine, suite.get("name") or job.path.stem,
        run_dir=Path(run_dir) if run_dir else None,
        verdicts=int(suite.get("tests", "0")), failed=int(suite.get("failures", "0")),
        known_broken=int(suite.get("skipped", "0")),
    )  # fmt: skip


def _suite(junit: Path) -> ElementTree.Element | None:
    try:
        return ElementTree.parse(junit).getroot().find("testsuite")
    except (OSError, ElementTree.ParseError):
        return None


def last_line(log: Path, code: int) -> str:
    """The child's own last word (``chaos run: the stack could not start: ...``), else its exit."""
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    said = next((line.strip() for line in reversed(lines) if line.strip()), "")
    how = f"killed by signal {-code}" if code < 0 else f"exit {code}"
    return f"{said[:300]} ({how})" if said else how


def outcome_line(outcome: Outcome, done: int, total: int, show_engine: bool) -> str:
    """One line as a job ends: ``[2/8] FAILED  name  12.3 s  1 of 9 verdicts failed``."""
    width = len(str(total))
    if outcome.code in (0, 1) and outcome.verdicts:
        broken = f", {outcome.known_broken} known broken" if outcome.known_broken else ""
        detail = (f"{outcome.failed} of {outcome.verdicts} verdicts failed" if outcome.failed
                  else f"{outcome.verdicts} verdicts held{broken}")  # fmt: skip
    else:
        detail = outcome.error
    engine = f"  on {outcome.engine}" if show_engine and outcome.engine else ""
    return (f"[{done:{width}d}/{total}] {outcome.label:<12} {outcome.scenario}  "
            f"{outcome.seconds:.1f} s  {detail}{engine}")  # fmt: skip


def summary_lines(outcomes: list[Outcome], jobs: int, jobs_dir: Path) -> list[str]:
    """After the last job: each scenario's report (or log), then the counts and the worst."""
    lines = ["reports:"]
    for outcome in sorted(outcomes, key=lambda o: o.job.index):
        report = outcome.report()
        where = f"{report}" if report else f"log {outcome.job.log}"
        lines.append(f"  {outcome.scenario}: {where}")
    lines.append(f"logs: {jobs_dir}")
    counts: dict[str, list[str]] = {}
    for outcome in outcomes:
        counts.setdefault(outcome.label, []).append(outcome.scenario)
    parts = [f"{len(names)} {label}" for label, names in counts.items()
             if label not in ("no verdict", "bad input")]  # fmt: skip
    for label in ("bad input", "no verdict"):
        if label in counts:
            kind = "bad input" if label == "bad input" else "infrastructure error"
            parts.append(f"{len(counts[label])} {kind} ({', '.join(sorted(counts[label]))})")
    code = worst_exit([outcome.code for outcome in outcomes])
    lines.append(f"{len(outcomes)} scenarios, {jobs} at a time: {', '.join(parts)}; exit {code}")
    return lines


def merge_junit(outcomes: list[Outcome], target: Path) -> Path:
    """One JUnit file from the jobs' own, in the order the scenarios were given."""
    suites = ElementTree.Element("testsuites")
    for outcome in sorted(outcomes, key=lambda o: o.job.index):
        suite = _suite(outcome.job.junit) if outcome.code in (0, 1) else None
        suites.append(suite if suite is not None else _error_suite(outcome))
    tree = ElementTree.ElementTree(suites)
    ElementTree.indent(tree)
    target.parent.mkdir(parents=True, exist_ok=True)
    tree.write(target, encoding="utf-8", xml_declaration=True)
    return target


def _error_suite(outcome: Outcome) -> ElementTree.Element:
    """A scenario that got no verdict, as CI should see it: an error, never a silent gap."""
    suite = ElementTree.Element("testsuite", name=outcome.scenario, tests="1", failures="0",
                                errors="1", time=f"{outcome.seconds:.3f}")  # fmt: skip
    case = ElementTree.SubElement(suite, "testcase", classname=outcome.scenario, name="run")
    error = ElementTree.SubElement(case, "error", message=outcome.error[:500],
                                   type="InfrastructureError")  # fmt: skip
    error.text = f"no verdict: {outcome.error}\nlog: {outcome.job.log}"
    return suite
