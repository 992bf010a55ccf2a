"""Scenario files as pytest items: one item per file under the configured directories.

The whole run (stack start, workload, faults, checks) happens in the item's setup, so a stack
that cannot start, or a file that does not validate, is a test *error*; the call phase only
judges the verdicts, so a promise that did not hold is a test *failure* whose report is the
verdict table and the path of the run's timeline picture.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from chaos.errors import ChaosError, map_exceptions
from chaos.pytest.options import options_for

_result_key = pytest.StashKey[Any]()


class ScenarioFailed(Exception):
    """A scenario ran and at least one of its expectations did not hold."""

    def __init__(self, result: Any) -> None:
        self.result = result
        failed = [v.name for v in result.verdicts if not v.ok]
        super().__init__(f"expectations failed: {', '.join(failed)}")


class KnownBroken(Exception):
    """Every expectation passed the gate, and some because the scenario says its promise does
    not hold (``known_broken``): the item is an expected failure (xfail, strict)."""

    def __init__(self, result: Any) -> None:
        self.result = result
        reasons = dict.fromkeys(f"{v.name}: {v.known_broken}" for v in result.verdicts
                                if v.status == "KNOWN BROKEN")  # fmt: skip
        super().__init__("KNOWN BROKEN: " + "; ".join(reasons))


def known_broken_reason(path: Path) -> str | None:
    """The scenario's known breakage read from its file without validating it (collection must
    not fail on a bad file): the scenario's ``known_broken``, else its expectations' joined."""
    from chaos.inputs import read_yaml

    try:
        document = read_yaml(path, what="a scenario")
    except Exception:  # a bad file errors its item when it runs, not the collection
        return None
    if not isinstance(document, dict):
        return None
    reasons = [document.get("known_broken")] + [
        entry.get("known_broken") for entry in document.get("expect") or []
        if isinstance(entry, dict)
    ]  # fmt: skip
    found = [str(reason) for reason in reasons if reason]
    return "; ".join(found) or None


@contextlib.contextmanager
def _database_allowed(config: pytest.Config) -> Iterator[None]:
    """pytest-django blocks database access outside tests that ask for it; a scenario's
    workload (the durable path's outbox) writes to the run's own database, so lift the block."""
    try:
        from pytest_django.plugin import blocking_manager_key
    except ImportError:
        yield
        return
    blocker = config.stash.get(blocking_manager_key, None)
    if blocker is None:
        yield
        return
    with blocker.unblock():
        yield


def run_for_pytest(
    config: pytest.Config,
    scenario: str | Path | Mapping[str, Any] | Any,
    *,
    seed: int | None = None,
    **options: Any,
) -> Any:
    """Run a scenario with the session's backend, seed and output directory; returns the
    runner's RunResult. A failed run gets its timeline drawn if the runner did not draw it."""
    with map_exceptions("runner", "importing the scenario runner (chaos.runner)"):
        from chaos.runner import run_scenario
    chaos_options = options_for(config)
    out_dir = chaos_options.run_parent()
    out_dir.mkdir(parents=True, exist_ok=True)
    options.setdefault("backend", chaos_options.backend)
    if chaos_options.dilation is not None:
        options.setdefault("dilation", chaos_options.dilation)
    options.setdefault("out_dir", out_dir)
    # The runner's live console only when pytest shows output as it comes (-s).
    options.setdefault("quiet", config.getoption("capture", "fd") != "no")
    # Drawing costs seconds: every run's picture when every run is kept, else failures' only.
    options.setdefault("picture", chaos_options.keep)
    options.setdefault("html", True)  # report.html costs milliseconds: always beside the journal
    with _database_allowed(config):
        result = run_scenario(
            scenario, seed=seed if seed is not None else chaos_options.seed, **options
        )
    run_dir = getattr(result, "run_dir", None)
    if not result.ok and run_dir is not None and not (Path(run_dir) / "timeline.png").exists():
        from chaos.report import list_report_files, write_timeline

        try:
            write_timeline(run_dir, verdicts=result.verdicts)
        except ChaosError as error:  # e.g. no matplotlib: the failed verdicts matter more
            print(f"chaos: no timeline picture for {run_dir}: {error}")
        list_report_files(run_dir)
    return result


_kept_runs_key = pytest.StashKey[list[tuple[str, Path]]]()


def note_kept_run(config: pytest.Config, nodeid: str, run_dir: Path) -> None:
    """Remember a failed run's directory for the end-of-session summary."""
    config.stash.setdefault(_kept_runs_key, []).append((nodeid, run_dir))


def summarize_kept_runs(terminal: Any, config: pytest.Config) -> None:
    """The plugin's ``pytest_terminal_summary``: where each failed run left its evidence."""
    kept = config.stash.get(_kept_runs_key, [])
    if not kept:
        return
    terminal.write_sep("-", f"chaos: {len(kept)} failed run(s) kept")
    for nodeid, run_dir in kept:
        terminal.write_line(f"{nodeid}: {run_dir} (chaos report {run_dir})")


def record_result(item: pytest.Item, result: Any, *, table_section: bool = True) -> None:
    """Put a run's verdicts into the item's JUnit properties and, unless told not to, the
    verdict table into a report section (which ``--junitxml`` writes to ``<system-out>`` with
    ``-o junit_logging=system-out``)."""
    from chaos.report import junit_properties, verdict_text

    run_dir = getattr(result, "run_dir", None)
    item.user_properties.extend(junit_properties(result.verdicts, run_dir))
    item.user_properties.extend(timing_properties(getattr(result, "timings", None) or {}))
    dilation = getattr(result, "dilation", 1.0)
    clock = f"dilated x{dilation:g}: times are the app's" if dilation != 1.0 else ""
    if clock:
        item.user_properties.append(("chaos.clock", clock))
    if table_section:
        table = verdict_text(result.verdicts)
        item.add_report_section("call", "stdout chaos verdicts",
                                f"clock {clock}\n{table}" if clock else table)  # fmt: skip


#: The run's timings a CI job keeps per scenario (``benchmarks/overhead_scenarios.py
#: --from-junit`` turns them into the suite's overhead per scenario).
TIMINGS_KEPT = ("wall", "intrinsic", "stack_start", "stack_stop", "check")


def timing_properties(timings: dict[str, float]) -> list[tuple[str, str]]:
    """``chaos.seconds.<name>`` pairs for the timings the runner measured."""
    return [(f"chaos.seconds.{name}", f"{timings[name]:.3f}") for name in TIMINGS_KEPT
            if name in timings]  # fmt: skip


def failure_text(result: Any, title: str) -> str:
    """What a failed scenario's report shows: the table, then where to look."""
    from chaos.report import verdict_text

    failed = sum(1 for v in result.verdicts if not v.ok)
    dilation = getattr(result, "dilation", 1.0)
    if dilation != 1.0:
        title += f" (dilated x{dilation:g})"
    lines = [f"{title}: {failed} of {len(result.verdicts)} expectations FAILED", "",
             verdict_text(result.verdicts).rstrip(), ""]
    run_dir = getattr(result, "run_dir", None)
    if run_dir is not None:
        run_dir = Path(run_dir)
        lines.append(f"timeline:      {run_dir / 'timeline.png'} (and timeline.svg beside it)")
        lines.append(f"run directory: {run_dir}")
        page = run_dir / "report.html"
        lines.append(f"html report:   {page if page.is_file() else f'chaos report {run_dir}'}")
        lines.append(f"replay:        chaos replay {run_dir}")
    return "\n".join(lines)


class ScenarioItem(pytest.Item):
    """One scenario file, run once; its verdicts decide the outcome."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_marker("chaos")
        reason = known_broken_reason(self.path)
        if reason is not None:
            # strict: passing without the known failure fails; raises: only KnownBroken is the
            # expected failure, so a promise that now holds (a failed verdict) fails for real.
            self.add_marker(pytest.mark.xfail(reason=reason, strict=True, raises=KnownBroken))

    def setup(self) -> None:
        from chaos.errors import ConfigError, StackError

        problem = None
        try:
            result = run_for_pytest(self.config, self.path)
        except StackError as exc:
            problem = f"the stack could not start (an infrastructure error, not a verdict):\n{exc}"
        except ConfigError as exc:
            problem = f"the scenario file is not valid:\n{exc}"
        if problem is not None:
            # Outside the except block: the message alone, without the exception chain.
            pytest.fail(problem, pytrace=False)
        self.stash[_result_key] = result
        # A failed run's report is the table already (and JUnit's <failure> text): not twice.
        record_result(self, result, table_section=result.ok)

    def runtest(self) -> None:
        result = self.stash[_result_key]
        if not result.ok:
            raise ScenarioFailed(result)
        if any(v.status == "KNOWN BROKEN" for v in result.verdicts):
            raise KnownBroken(result)

    def teardown(self) -> None:
        import shutil

        result = self.stash.get(_result_key, None)
        run_dir = getattr(result, "run_dir", None)
        if result is None or run_dir is None:
            return
        if not result.ok:
            note_kept_run(self.config, self.nodeid, Path(run_dir))
        elif not options_for(self.config).keep:
            shutil.rmtree(run_dir, ignore_errors=True)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, ScenarioFailed):
            return failure_text(excinfo.value.result, f"scenario {self.path.name}")
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"scenario {self.path.name}"


class ScenarioFile(pytest.File):
    """A scenario file: collected without reading it (a bad file errors its item, not the
    collection, so one broken file does not stop the rest of the library)."""

    def collect(self) -> Iterator[ScenarioItem]:
        yield ScenarioItem.from_parent(self, name=self.path.stem)


def collect_file(file_path: Path, parent: pytest.Collector) -> ScenarioFile | None:
    """The plugin's ``pytest_collect_file``: scenario files inside the configured dirs only."""
    if not options_for(parent.config).holds_scenario(file_path):
        return None
    return ScenarioFile.from_parent(parent, path=file_path)
