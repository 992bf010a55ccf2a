"""Failpoints: off by default, armed through the run directory, hits counted across processes,
every firing journaled, and patch-based arming for code the user cannot edit."""

from __future__ import annotations

import multiprocessing
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaos import failpoint, failpoints
from chaos.journal import read_journal


@pytest.fixture
def run_dir(tmp_path: Path) -> Iterator[Path]:
    failpoints.activate(tmp_path)
    yield tmp_path
    failpoints.activate(None)


def fired(run_dir: Path) -> list[dict]:
    return [dict(event.data) for event in read_journal(run_dir) if event.kind == "failpoint.fired"]


def test_off_without_a_run_directory(tmp_path: Path) -> None:
    failpoints.activate(None)
    failpoints.write_plans(tmp_path, {"x": {"arming": "a", "raise": "builtins.ValueError"}})
    failpoint("x")  # nothing armed in this process: no exception


def test_unarmed_name_does_nothing_in_a_run(run_dir: Path) -> None:
    failpoints.write_plans(run_dir, {"other": {"arming": "a", "raise": "builtins.ValueError"}})
    failpoint("x")
    assert not (run_dir / "journal.jsonl").exists()


def test_raises_on_hits_n_to_m_only_and_journals_each_firing(run_dir: Path) -> None:
    failpoints.write_plans(
        run_dir,
        {
            "x": {
                "arming": "f1",
                "raise": "builtins.ConnectionError",
                "message": "carrier down",
                "hits_from": 2,
                "hits_to": 3,
            }
        },
    )
    outcomes = []
    for _ in range(5):
        try:
            failpoint("x")
            outcomes.append("ok")
        except ConnectionError as exc:
            outcomes.append(str(exc))
    assert outcomes == ["ok", "carrier down", "carrier down", "ok", "ok"]
    firings = fired(run_dir)
    assert [f["hit"] for f in firings] == [2, 3]
    assert all(f["exc_type"] == "builtins.ConnectionError" and f["name"] == "x" for f in firings)


def test_rearming_takes_effect_at_once_and_disarming_stops_it(run_dir: Path) -> None:
    failpoint("x")
    failpoints.write_plans(run_dir, {"x": {"arming": "f1", "raise": "builtins.KeyError"}})
    with pytest.raises(KeyError):
        failpoint("x")
    failpoints.write_plans(run_dir, {})
    failpoint("x")


def test_probability_is_seeded_so_the_same_hits_fire(tmp_path: Path) -> None:
    def pattern(run_dir: Path) -> list[bool]:
        failpoints.activate(run_dir)
        failpoints.write_plans(
            run_dir,
            {
                "x": {
                    "arming": "p",
                    "raise": "builtins.ValueError",
                    "probability": 0.5,
                    "seed": 1234,
                }
            },
        )
        outcome = []
        for _ in range(40):
            try:
                failpoint("x")
                outcome.append(False)
            except ValueError:
                outcome.append(True)
        failpoints.activate(None)
        return outcome

    first, second = pattern(tmp_path / "a"), pattern(tmp_path / "b")
    assert first == second
    assert 8 < sum(first) < 32  # p=0.5 over 40 hits; fixed by the seed, so never flaky


def test_delay_plan_delays_and_is_journaled(run_dir: Path) -> None:
    import time

    failpoints.write_plans(run_dir, {"x": {"arming": "d", "delay": 0.05}})
    started = time.monotonic()
    failpoint("x")
    # at least the delay; the upper side is not asserted (a loaded machine is slower, never faster)
    assert time.monotonic() - started >= 0.05
    assert fired(run_dir)[0]["action"] == "delay"


def _hit_many(run_dir: str, count: int) -> None:
    failpoints.activate(run_dir)
    for _ in range(count):
        try:
            failpoint("shared")
        except ValueError:
            pass


def test_hits_are_counted_across_processes(run_dir: Path) -> None:
    failpoints.write_plans(
        run_dir,
        {"shared": {"arming": "s", "raise": "builtins.ValueError", "hits_from": 1, "hits_to": 5}},
    )
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_hit_many, args=(str(run_dir), 10)) for _ in range(3)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    assert sorted(f["hit"] for f in fired(run_dir)) == [1, 2, 3, 4, 5]
    assert (run_dir / "failpoints" / "s.hits").stat().st_size == 30


def test_patch_arms_code_that_has_no_failpoint(run_dir: Path, tmp_path: Path) -> None:
    module_dir = tmp_path / "code"
    module_dir.mkdir()
    (module_dir / "vendor_carrier.py").write_text(
        textwrap.dedent(
            """
            def book(order_id):
                return f"booked {order_id}"
            """
        )
    )
    sys.path.insert(0, str(module_dir))
    try:
        failpoints.write_plans(
            run_dir,
            {
                "patch:vendor_carrier:book": {
                    "arming": "p1",
                    "raise": "builtins.TimeoutError",
                    "hits_to": 1,
                }
            },
            patches=["vendor_carrier:book"],
        )
        assert failpoints.install_patches() == ["vendor_carrier:book"]
        import vendor_carrier

        with pytest.raises(TimeoutError):
            vendor_carrier.book(1)
        assert vendor_carrier.book(2) == "booked 2"
        failpoints.install_patches()  # idempotent: still one wrapper
        assert vendor_carrier.book(3) == "booked 3"
        assert [f["name"] for f in fired(run_dir)] == ["patch:vendor_carrier:book"]
    finally:
        sys.path.remove(str(module_dir))
        sys.modules.pop("vendor_carrier", None)
