"""What a ``failpoint()`` call costs in task code: off, in a run with nothing armed for it, and
armed on a hit that does not fire.

Run: ``python benchmarks/overhead_failpoint.py`` (prints ns per call, best of 5 repeats).
Target: under a microsecond when off.
"""

from __future__ import annotations

import tempfile
import timeit

from chaos import failpoints


def per_call_ns(statement: str, number: int) -> float:
    timings = timeit.repeat(
        statement, number=number, repeat=5, globals={"failpoint": failpoints.failpoint}
    )
    return min(timings) / number * 1e9


def main() -> None:
    failpoints.activate(None)
    empty = per_call_ns("pass", 1_000_000)
    off = per_call_ns("failpoint('shop.carrier')", 1_000_000)
    with tempfile.TemporaryDirectory() as run_dir:
        failpoints.activate(run_dir)
        no_plan_file = per_call_ns("failpoint('shop.carrier')", 200_000)
        failpoints.write_plans(
            run_dir, {"shop.other": {"arming": "a", "raise": "builtins.ValueError"}}
        )
        other_armed = per_call_ns("failpoint('shop.carrier')", 200_000)
        failpoints.write_plans(
            run_dir, {"shop.carrier": {"arming": "b", "raise": "builtins.ValueError", "hits_to": 0}}
        )
        armed_not_firing = per_call_ns("failpoint('shop.carrier')", 20_000)
        failpoints.activate(None)
    print(f"empty statement (loop cost):                {empty:8.1f} ns")
    print(f"off (no run directory):                     {off:8.1f} ns")
    print(f"in a run, no plan file:                     {no_plan_file:8.1f} ns")
    print(f"in a run, another failpoint armed:          {other_armed:8.1f} ns")
    print(f"armed, hit counted but not firing:          {armed_not_firing:8.1f} ns")
    print(f"target: off < 1000 ns -> {'met' if off < 1000 else 'MISSED'}")


if __name__ == "__main__":
    main()
