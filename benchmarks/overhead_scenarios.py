"""Suite overhead per scenario: wall time / intrinsic time.

Intrinsic time is what the experiment itself needs: from the workload's first send (the run's
t0) until the system has drained after the last heal -- the fault windows, the send schedule and
the waits the system imposes (reconnect back-off, retries). Wall time is the whole
``run_scenario`` call: scenario load, stack start and stop, workload process, checks, report.json
(the timeline picture is left out: ``chaos run --no-picture``; it costs about 3-4 s of plotting).

The ``w/o stack`` column leaves the stack's start out (``benchmarks/stack_cold_start.py``
measures that part): it is what the runner itself adds.

Run: ``python benchmarks/overhead_scenarios.py [--repeat N] [FILE...]``
(default: the README's scenario and the runner's own e2e scenarios, 3 runs each; prints the median
of each column). Target: overhead <= 1.25.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from chaos.runner import run_scenario

REPO = Path(__file__).resolve().parents[1]
DEFAULT_FILES = [
    REPO / "scenarios" / "broker-restart-during-orders.yaml",
    *sorted((REPO / "tests" / "scenario" / "e2e").glob("*.yaml")),
]
COLUMNS = ("wall", "intrinsic", "stack_start", "workload_wait", "timeline", "drain",
           "stack_stop", "check", "report")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, default=DEFAULT_FILES)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    header = f"{'scenario':32} {'overhead':>8} {'w/o stack':>9} " + " ".join(
        f"{c:>13}" for c in COLUMNS
    )
    print(header)
    with tempfile.TemporaryDirectory() as out_dir:
        for path in args.files:
            runs = [run_scenario(path, out_dir=out_dir, quiet=True) for _ in range(args.repeat)]
            overheads = [run.overhead for run in runs if run.overhead]
            medians = {c: statistics.median(r.timings.get(c, 0.0) for r in runs) for c in COLUMNS}
            # The same ratio without the stack's own start: what the runner itself adds.
            without_stack = statistics.median(
                (r.timings["wall"] - r.timings["stack_start"]) / r.timings["intrinsic"]
                for r in runs
            )
            row = f"{runs[0].scenario[:32]:32} {statistics.median(overheads):8.2f} "
            row += f"{without_stack:9.2f} "
            row += " ".join(f"{medians[c]:12.2f}s" for c in COLUMNS)
            print(row, flush=True)
            print(f"{'':32} overheads: {', '.join(f'{o:.2f}' for o in overheads)}; "
                  f"verdicts held: {[run.ok for run in runs]}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
