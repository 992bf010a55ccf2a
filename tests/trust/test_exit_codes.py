"""The exit-code contract, one row per path: 0 held, 1 an expectation failed, 2 bad input or usage,
3 infrastructure. Every row runs ``chaos`` as a user does and checks the code, the message, that no
traceback is printed for it, and (for bad input) that it is refused within a second of start-up.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from chaos.testing import SyntheticRun, bulk_run
from chaos.scenario import load_scenario, resolve_timeline
from tests.trust.support import SCENARIOS, WORKTREE, Mount, fill, run_chaos

SCENARIO = SCENARIOS / "proxy-down.yaml"
OOM_WRAPPER = Path(__file__).with_name("out_of_memory.py")


@dataclass(frozen=True)
class Case:
    argv: list[str]
    code: int
    says: list[str]
    never_says: list[str] = field(default_factory=list)
    fast: bool = False
    """Bad input: refused within a second of the interpreter's start-up."""
    python_argv: list[str] | None = None


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def expect_file(tmp_path: Path, check: str) -> Path:
    return write(tmp_path / "expect.yaml", f"- check: {check}\n")


def held(tmp_path: Path, tmpfs: Mount) -> Case:
    run = SyntheticRun()
    run.publish(1.0, "t1", "order=1")
    run.execute(1.1, "t1", 0, "success")
    run.finish(2.0)
    run.write(tmp_path / "run")
    return Case(["check", str(tmp_path / "run"), "--expect", str(expect_file(tmp_path, "no_lost"))],
                0, ["no_lost"])  # fmt: skip


def expectation_failed(tmp_path: Path, tmpfs: Mount) -> Case:
    run = SyntheticRun()
    run.publish(1.0, "t1", "order=1")  # accepted by the broker, never run: lost
    run.finish(2.0)
    run.write(tmp_path / "run")
    return Case(["check", str(tmp_path / "run"), "--expect", str(expect_file(tmp_path, "no_lost"))],
                1, ["no_lost"])  # fmt: skip


def usage(tmp_path: Path, tmpfs: Mount) -> Case:
    return Case(["run", "--seed", "not-a-number", str(SCENARIO)], 2, ["invalid int value"],
                fast=True)  # fmt: skip


def out_is_a_file(tmp_path: Path, tmpfs: Mount) -> Case:
    out = write(tmp_path / "a-file", "")
    return Case(["run", str(SCENARIO), "--out", str(out)], 2, [str(out), "--out"], fast=True)


def out_under_a_file(tmp_path: Path, tmpfs: Mount) -> Case:
    out = write(tmp_path / "a-file", "") / "runs"
    return Case(["run", str(SCENARIO), "--out", str(out)], 2, [str(out), "--out"], fast=True)


def out_read_only(tmp_path: Path, tmpfs: Mount) -> Case:
    out = tmpfs(size="64k", read_only=True)
    return Case(["run", str(SCENARIO), "--out", str(out)], 2,
                [str(out), "Read-only file system"], fast=True)  # fmt: skip


def disk_full_at_start(tmp_path: Path, tmpfs: Mount) -> Case:
    out = tmpfs(size="64k")
    fill(out)
    return Case(["run", str(SCENARIO), "--out", str(out)], 3,
                ["No space left on device", str(out)], never_says=["held", "FAILED"])  # fmt: skip


def deep_nesting(tmp_path: Path, tmpfs: Mount) -> Case:
    path = write(tmp_path / "deep.yaml", "name: deep\nfaults: " + "[" * 5000 + "]" * 5000 + "\n")
    return Case(["validate", str(path)], 2, [f"{path}:2:", "nested more than 64 levels"],
                fast=True)  # fmt: skip


def deep_nesting_run(tmp_path: Path, tmpfs: Mount) -> Case:
    path = write(tmp_path / "deep.yaml", "name: deep\nfaults: " + "[" * 5000 + "]" * 5000 + "\n")
    return Case(["run", str(path), "--out", str(tmp_path / "runs")], 2,
                [f"{path}:2:", "nested more than 64 levels"], fast=True)  # fmt: skip


def alias_bomb(tmp_path: Path, tmpfs: Mount) -> Case:
    lines = ["name: bomb", "a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 10):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 9) + "]")
    path = write(tmp_path / "bomb.yaml", "\n".join(lines) + "\n")
    return Case(["validate", str(path)], 2, [f"{path}:3:", "through YAML aliases",
                                              "at most 100000"], fast=True)  # fmt: skip


def alias_bomb_list(tmp_path: Path, tmpfs: Mount) -> Case:
    (tmp_path / "dir").mkdir()
    alias_bomb(tmp_path / "dir", tmpfs)
    return Case(["list", str(tmp_path / "dir")], 2, ["through YAML aliases"], fast=True)


def oversized_scenario(tmp_path: Path, tmpfs: Mount) -> Case:
    path = tmp_path / "big.yaml"
    with path.open("w") as handle:
        handle.write("name: big\n# " + "y" * (50 * 1024 * 1024) + "\n")
    return Case(["validate", str(path)], 2, [str(path), "too large", "at most 256 KiB"],
                fast=True)  # fmt: skip


def garbage_report(tmp_path: Path, tmpfs: Mount) -> Case:
    run = SyntheticRun()
    run.finish(1.0)
    run.write(tmp_path / "run")
    write(tmp_path / "run" / "report.json", '{"verdicts": [{"name": "no_lost", "ok": tr')
    return Case(["check", str(tmp_path / "run")], 2, [f"{tmp_path / 'run' / 'report.json'}:1:",
                                                        "not JSON"], fast=True)  # fmt: skip


def deeply_nested_report(tmp_path: Path, tmpfs: Mount) -> Case:
    run = SyntheticRun()
    run.finish(1.0)
    run.write(tmp_path / "run")
    write(tmp_path / "run" / "report.json", "[" * 100_000 + "]" * 100_000)
    return Case(["check", str(tmp_path / "run")], 2, ["report.json", "nested more than 64"],
                fast=True)  # fmt: skip


def deeply_nested_journal(tmp_path: Path, tmpfs: Mount) -> Case:
    (tmp_path / "run").mkdir()
    write(tmp_path / "run" / "journal.jsonl", "[" * 100_000 + "]" * 100_000 + "\n")
    return Case(["check", str(tmp_path / "run")], 2, ["nests too deeply"], fast=True)


def recorded_run(run_dir: Path) -> None:
    """A run directory as chaos run leaves one, but for its journal."""
    run_dir.mkdir()
    loaded = load_scenario(SCENARIO)
    timeline = resolve_timeline(loaded.scenario, 7)
    shutil.copy(SCENARIO, run_dir / "scenario.yaml")
    write(run_dir / "timeline.json", timeline.model_dump_json())
    write(run_dir / "run.json", json.dumps({"run_id": "r1", "scenario": "proxy-down", "seed": 7,
                                            "backend": "local", "source": str(SCENARIO)}))  # fmt: skip
    write(run_dir / "report.json", json.dumps({"verdicts": [{"name": "no_lost", "ok": True}]}))


def garbage_journal_replay(tmp_path: Path, tmpfs: Mount) -> Case:
    run_dir = tmp_path / "run"
    recorded_run(run_dir)
    write(run_dir / "journal.jsonl", '{"a": 1}\n[2, 3]\n"x"\n{"kind": "run.started"}\n')
    return Case(["replay", str(run_dir)], 2, [f"{run_dir / 'journal.jsonl'}:1", "not a journal"],
                never_says=["verdicts match"], fast=True)  # fmt: skip


def journal_of_another_run_replay(tmp_path: Path, tmpfs: Mount) -> Case:
    run_dir = tmp_path / "run"
    recorded_run(run_dir)
    SyntheticRun().write(run_dir)  # well-formed events, but run_id "synthetic", seed 0
    return Case(["replay", str(run_dir)], 2, ["does not record this run's start"],
                never_says=["verdicts match"], fast=True)  # fmt: skip


def incomplete_journal_check(tmp_path: Path, tmpfs: Mount) -> Case:
    run = SyntheticRun()
    run.publish(1.0, "t1", "order=1")  # queued when the run was killed in its drain
    run.write(tmp_path / "run")
    return Case(["check", str(tmp_path / "run")], 3, ["incomplete journal: no run.finished"],
                never_says=["held", "FAILED", "lost"], fast=True)  # fmt: skip


def incomplete_recording_replay(tmp_path: Path, tmpfs: Mount) -> Case:
    run_dir = tmp_path / "run"
    recorded_run(run_dir)
    run = SyntheticRun()
    run.events.clear()  # this run's start instead of the synthetic one
    run.runner.emit(0.0, "run.started", run_id="r1", scenario="proxy-down", seed=7)
    run.publish(1.0, "t1", "order=1")  # no run.finished: killed in its drain
    run.write(run_dir)
    return Case(["replay", str(run_dir)], 2, ["cannot replay: incomplete journal"],
                never_says=["verdicts match"], fast=True)  # fmt: skip


def out_of_memory(tmp_path: Path, tmpfs: Mount) -> Case:
    bulk_run(100).write(tmp_path / "run")
    # The wrapper makes the history builder ask for more memory than exists (a real MemoryError,
    # raised by CPython every time; see out_of_memory.py for why not an address-space cap).
    return Case(["check", str(tmp_path / "run")], 3, ["out of memory"],
                never_says=["held", "FAILED"], python_argv=[str(OOM_WRAPPER)])  # fmt: skip


CASES: dict[str, Callable[[Path, Mount], Case]] = {
    case.__name__: case
    for case in (held, expectation_failed, usage, out_is_a_file, out_under_a_file, out_read_only,
                 disk_full_at_start, deep_nesting, deep_nesting_run, alias_bomb, alias_bomb_list,
                 oversized_scenario, garbage_report, deeply_nested_report, deeply_nested_journal,
                 garbage_journal_replay,
                 journal_of_another_run_replay, incomplete_journal_check,
                 incomplete_recording_replay, out_of_memory)  # fmt: skip
}


#: Wall seconds past the interpreter's start-up in which bad input must be refused.
FAST_SECONDS = 3.0


@pytest.mark.parametrize("name", list(CASES))
def test_exit_code_contract(name: str, tmp_path: Path, tmpfs: Mount,
                            chaos_startup_seconds: float) -> None:  # fmt: skip
    case = CASES[name](tmp_path, tmpfs)

    finished = run_chaos(*case.argv, python_argv=case.python_argv)

    output = finished.stdout + finished.stderr
    assert finished.returncode == case.code, output
    for fragment in case.says:
        assert fragment in output
    for fragment in case.never_says:
        assert fragment not in output
    assert "Traceback" not in finished.stderr
    if case.fast:
        # The target is under a second past start-up on an idle machine (1.34 s was measured
        # with the library's stream beside this one on two cores); 3 s still tells a refusal
        # from an expansion, which ran for minutes before the limits.
        assert finished.seconds - chaos_startup_seconds < FAST_SECONDS, finished.seconds


def test_debug_flag_shows_the_traceback(tmp_path: Path) -> None:
    path = write(tmp_path / "deep.yaml", "name: deep\nfaults: " + "[" * 5000 + "]" * 5000 + "\n")

    finished = run_chaos("--debug", "validate", str(path))

    assert finished.returncode == 2
    assert "Traceback" in finished.stderr
    assert "nested more than 64 levels" in finished.stderr


def test_pytest_collection_of_scenarios_goes_through_the_bounded_loader(tmp_path: Path) -> None:
    alias_bomb(tmp_path, lambda **_: tmp_path)
    finished = run_chaos("-p", "no:cacheprovider", str(tmp_path / "bomb.yaml"), "-q",
                         "-c", str(WORKTREE / "pyproject.toml"), "--rootdir", str(WORKTREE), "-o", f"chaos_scenarios={tmp_path}",
                         python_argv=["-m", "pytest"], timeout=120)  # fmt: skip

    assert "through YAML aliases" in finished.stdout, finished.stdout + finished.stderr
    assert finished.returncode == 1  # the item fails, saying why; nothing ran
