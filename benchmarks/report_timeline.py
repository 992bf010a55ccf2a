"""How long the reports of a run take: history, report.json, the timeline (PNG + SVG), the HTML page.

The HTML page is drawn apart from the picture (its timeline is its own HTML), so its column is the
page alone. Synthetic runs of 10, 30, 100 and 1000 tasks (chaos.testing.bulk_run: a broker kill, retries,
refusals, duplicates), each step timed separately, median of ``--repeat`` runs. matplotlib's import
is timed once, apart, since a process pays it only once.

    python benchmarks/report_timeline.py [--repeat 3] [--sizes 10,100,1000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def lap(seconds: list[float], since: float) -> float:
    """Append the time since ``since`` to ``seconds``; return now (the next lap's start)."""
    now = time.perf_counter()
    seconds.append(now - since)
    return now


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", default="10,30,100,1000")
    args = parser.parse_args()

    began = time.perf_counter()
    import matplotlib.figure  # noqa: F401  (timed: a process pays this once)

    import_seconds = time.perf_counter() - began
    print(f"import matplotlib.figure: {import_seconds:.2f} s (once per process)")

    from chaos.checks import DEFAULT_EXPECTATIONS, run_checks
    from chaos.testing import bulk_run
    from chaos.history import load_history
    from chaos.report import write_html, write_json, write_timeline

    print(f"{'tasks':>6} {'events':>7} {'history':>8} {'checks':>7} {'json':>6} "
          f"{'timeline':>9} {'html':>6} {'png KB':>7} {'svg KB':>7} {'html KB':>8}")  # fmt: skip
    for size in (int(s) for s in args.sizes.split(",")):
        steps: dict[str, list[float]] = {
            k: [] for k in ("history", "checks", "json", "timeline", "html")
        }
        for repeat in range(args.repeat):
            with tempfile.TemporaryDirectory() as folder:
                run_dir = Path(folder)
                bulk_run(size, seed=repeat).write(run_dir)
                clock = time.perf_counter()
                history = load_history(run_dir)
                clock = lap(steps["history"], clock)
                verdicts = run_checks(history, DEFAULT_EXPECTATIONS)
                clock = lap(steps["checks"], clock)
                write_json(run_dir, verdicts, history)
                clock = lap(steps["json"], clock)
                write_timeline(run_dir, history, verdicts)
                clock = lap(steps["timeline"], clock)
                write_html(run_dir, history, verdicts)
                lap(steps["html"], clock)
                png_kb = (run_dir / "timeline.png").stat().st_size / 1024
                svg_kb = (run_dir / "timeline.svg").stat().st_size / 1024
                html_kb = (run_dir / "report.html").stat().st_size / 1024
                events = history.event_count
        medians = {k: statistics.median(v) for k, v in steps.items()}
        print(f"{size:>6} {events:>7} {medians['history']:>7.2f}s {medians['checks']:>6.2f}s "
              f"{medians['json']:>5.2f}s {medians['timeline']:>8.2f}s {medians['html']:>5.2f}s "
              f"{png_kb:>7.0f} {svg_kb:>7.0f} {html_kb:>8.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
