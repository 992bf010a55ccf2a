"""A scenario in real time and dilated: wall seconds, and whether the story is the same.

For each scenario and each --backend (local unless given), one run at dilation 1 and one at each
given N: wall time, every verdict, each task's attempt count and its gaps between attempts (in the
app's seconds). A run is honest when its verdicts and attempt counts equal the round's first run
(real time, or with --skip-real the first backend's dilated run) and every gap agrees within
--gap-tolerance app seconds.

    flock /tmp/chaos-stack.lock python benchmarks/dilation_scenarios.py \
        scenarios/risky-task-retry-ladder.yaml --dilation 10 [--rounds 2] \
        [--skip-real --backend local --backend docker]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from chaos.history import load_history
from chaos.runner import run_scenario


def story(result: Any) -> dict[str, Any]:
    """What must not change with the clock: verdicts, attempts and gaps per task."""
    history = load_history(result.run_dir)
    tasks = {}
    for task in history.tasks.values():
        starts = [attempt.started_at for attempt in task.attempts]
        key = f"{task.name}{list(task.args) if getattr(task, 'args', None) else ''}:{task.task_id[:8]}"
        tasks[key] = {
            "attempts": len(starts),
            "gaps": [round(b - a, 2) for a, b in zip(starts, starts[1:])],
        }
    return {
        "verdicts": [(v.name, v.ok) for v in result.verdicts],
        "attempts": sorted(t["attempts"] for t in tasks.values()),
        "gaps": sorted(tuple(t["gaps"]) for t in tasks.values()),
    }


def same_gaps(real: list[tuple[float, ...]], dilated: list[tuple[float, ...]],
              tolerance: float) -> bool:  # fmt: skip
    return len(real) == len(dilated) and all(
        len(a) == len(b) and all(abs(x - y) <= tolerance for x, y in zip(a, b))
        for a, b in zip(real, dilated)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="+", type=Path)
    parser.add_argument("--dilation", type=float, action="append", default=None)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--gap-tolerance", type=float, default=1.5,
                        help="app seconds two gaps may differ by (the scenarios' own tolerance)")
    parser.add_argument("--backend", action="append", default=None,
                        help="local, docker (repeatable; the round's first run is the baseline)")
    parser.add_argument("--skip-real", action="store_true",
                        help="dilated runs only (the real-time numbers are known)")
    options = parser.parse_args()
    dilations = options.dilation or [10.0]
    print(f"load average before: {os.getloadavg()}")
    backends = options.backend or ["local"]
    print("| scenario | backend | dilation | wall s | verdicts held | attempts | gaps (app s) | "
          "same verdicts | same attempts/gaps |")
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="chaos-dilation-") as out:
        for path in options.scenarios:
            for _ in range(options.rounds):
                baseline = None
                runs = [(backend, dilation) for backend in backends
                        for dilation in ([] if options.skip_real else [1.0]) + dilations]
                for backend, dilation in runs:
                    result = run_scenario(path, dilation=dilation, out_dir=out, quiet=True,
                                          backend=backend)  # fmt: skip
                    told = story(result)
                    same_verdicts = same_story = "-"
                    if baseline is None:
                        baseline = told
                    else:
                        same_verdicts = str(told["verdicts"] == baseline["verdicts"])
                        same_story = str(
                            told["attempts"] == baseline["attempts"]
                            and same_gaps(baseline["gaps"], told["gaps"], options.gap_tolerance)
                        )
                    held = sum(ok for _, ok in told["verdicts"])
                    print(f"| {path.stem} | {backend} | {dilation:g} | "
                          f"{result.timings['wall']:.1f} | "
                          f"{held}/{len(told['verdicts'])} | {told['attempts']} | "
                          f"{told['gaps']} | {same_verdicts} | {same_story} |", flush=True)
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
