"""Suite overhead per scenario: wall time / intrinsic time.

Intrinsic time is what the experiment itself needs, the fault windows and the waits it cannot
avoid: from the workload's first send (the run's t0) until the system has drained after the last
heal (the send schedule, reconnect back-off, retries), plus the boot of the app's worker, without
which there is nothing to test. That boot is measured outside the suite
(``benchmarks/app_boot_floor.py``: a bare Redis and the app's own ``app.Worker().start()``, timed to
Celery's ``ready.`` line), so the suite's own start-up (Redis, the proxy, the launcher, the probe,
the run directory) counts as overhead. Wall time is the whole ``run_scenario`` call: scenario load,
stack start and stop, workload process, checks, report.json (the timeline picture is left out, as
the pytest plugin leaves it out of passing runs; it costs 3-4 s of plotting).

Columns: ``overhead`` = wall / (intrinsic + boot); ``raw`` = wall / intrinsic (the ratio
report.json holds); ``w/o stack`` = (wall - stack start) / intrinsic, what the runner itself adds.

Run the scenarios here::

    python benchmarks/overhead_scenarios.py [--repeat N] [FILE...]

(default: the README's scenario and the runner's own e2e scenarios; the median of N runs), or read
the timings a pytest run recorded for every scenario item, e.g. the CI's two passes::

    python benchmarks/overhead_scenarios.py --from-junit .chaos/junit-local.xml .chaos/junit-docker.xml

Target: overhead <= 1.25 for every scenario.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from xml.etree import ElementTree

sys.path.insert(0, str(Path(__file__).resolve().parent))

from app_boot_floor import measure as measure_boot_floor

REPO = Path(__file__).resolve().parents[1]
DEFAULT_FILES = [
    REPO / "scenarios" / "broker-restart-during-orders.yaml",
    *sorted((REPO / "tests" / "scenario" / "e2e").glob("*.yaml")),
]
TARGET = 1.25
DETAIL = ("wall", "intrinsic", "stack_start", "stack_stop", "check")


def _row(name: str, timings: dict[str, float], boot: float) -> tuple[str, float]:
    wall, intrinsic = timings["wall"], timings["intrinsic"]
    overhead = wall / (intrinsic + boot)
    raw = wall / intrinsic
    without_stack = (wall - timings["stack_start"]) / intrinsic
    cells = " ".join(f"{timings.get(c, 0.0):10.2f}s" for c in DETAIL)
    mark = "" if overhead <= TARGET else "  > target"
    return f"{name[:44]:44} {overhead:8.2f} {raw:6.2f} {without_stack:9.2f} {cells}{mark}", overhead


def _header() -> str:
    return f"{'scenario':44} {'overhead':>8} {'raw':>6} {'w/o stack':>9} " + " ".join(
        f"{c:>11}" for c in DETAIL
    )


def run_files(files: Iterable[Path], repeat: int, boot: float, backend: str) -> list[float]:
    from chaos.runner import run_scenario

    overheads = []
    with tempfile.TemporaryDirectory() as out_dir:
        for path in files:
            runs = [
                run_scenario(path, out_dir=out_dir, quiet=True, backend=backend)
                for _ in range(repeat)
            ]
            medians = {c: statistics.median(r.timings.get(c, 0.0) for r in runs) for c in DETAIL}
            line, overhead = _row(runs[0].scenario, medians, boot)
            print(line + f"  verdicts held: {[run.ok for run in runs]}", flush=True)
            overheads.append(overhead)
    return overheads


def read_junit(files: Iterable[Path], boot: float) -> list[float]:
    """Every test case that carries ``chaos.seconds.*`` properties (the plugin's scenario items)."""
    overheads = []
    for junit in files:
        print(f"-- {junit}")
        for case in ElementTree.parse(junit).iter("testcase"):
            timings = {
                prop.get("name", "").removeprefix("chaos.seconds."): float(prop.get("value", 0))
                for prop in case.iter("property")
                if prop.get("name", "").startswith("chaos.seconds.")
            }
            if "wall" in timings and timings.get("intrinsic"):
                line, overhead = _row(case.get("name", "?"), timings, boot)
                print(line)
                overheads.append(overhead)
    return overheads


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="The module docstring says what each column means.",
    )  # fmt: skip
    parser.add_argument("files", nargs="*", type=Path, help="scenario files to run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per scenario (median)")
    parser.add_argument("--backend", choices=("local", "docker"), default="local")
    parser.add_argument(
        "--from-junit",
        nargs="+",
        type=Path,
        default=None,
        metavar="XML",
        help="read the timings of a pytest --junitxml run instead of running",
    )
    parser.add_argument("--boot", type=float, default=None, metavar="SECONDS",
                        help="the app's bare worker boot, if already measured (default: measure "
                             "it now, median of 3)")  # fmt: skip
    args = parser.parse_args()
    if args.boot is None:
        boots = measure_boot_floor(rounds=3)
        args.boot = statistics.median(boots)
        print(f"bare worker boot (app_boot_floor.py): median {args.boot:.3f} s of "
              f"{', '.join(f'{b:.3f}' for b in boots)}")  # fmt: skip
    print(_header(), flush=True)
    if args.from_junit:
        overheads = read_junit(args.from_junit, args.boot)
    else:
        overheads = run_files(args.files or DEFAULT_FILES, args.repeat, args.boot, args.backend)
    over = sum(1 for o in overheads if o > TARGET)
    print(f"{len(overheads)} scenario runs: overhead median {statistics.median(overheads):.2f}, "
          f"max {max(overheads):.2f}; {over} above the {TARGET} target")  # fmt: skip


if __name__ == "__main__":
    main()
