"""The app's own worker boot: the floor every scenario pays before its first fault.

A scenario cannot test a Celery worker without booting one, so that boot is a wait it cannot
avoid. This measures the least it costs, outside the suite: a bare Redis, then the app's worker
started the leanest way Celery offers (``app.Worker(...).start()`` with gossip, mingle and
heartbeat off, without Celery's command line, which costs 0.3 s more), timed from exec to Celery's
own ``ready.`` log line. No proxy, no probe, no launcher, no run directory: nothing of the suite.
``overhead_scenarios.py`` counts it in a scenario's intrinsic time and reports it beside the ratio.

    python benchmarks/app_boot_floor.py [--rounds 5] [--app myproject] [--workdir app]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from chaos.stack._waiting import poll_until
from chaos.stack.local.broker import LocalBroker

REPO = Path(__file__).resolve().parents[1]

#: The worker, booted as ``celery worker`` does after parsing its options.
BARE_WORKER = """
import os, sys
sys.path.insert(0, os.getcwd())
from celery.app.utils import find_app
app = find_app(sys.argv[1])
app.Worker(hostname="floor@bench", pool_cls="solo", concurrency=1, loglevel="INFO",
           logfile=None, without_gossip=True, without_mingle=True, without_heartbeat=True,
           no_color=True).start()
"""


def boot_once(app: str, workdir: Path, broker_url: str, scratch: Path, timeout: float) -> float:
    """Seconds from exec to the worker's ``ready.`` line; the worker is stopped before returning."""
    log_path = scratch / "worker.log"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CHAOS_")},
        "CELERY_BROKER_URL": broker_url,
        "DJANGO_DB_PATH": str(scratch / "db.sqlite3"),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)  # the app's celery module sets its own default
    with log_path.open("wb") as log:
        began = time.monotonic()
        worker = subprocess.Popen(
            [sys.executable, "-c", BARE_WORKER, app],
            cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            ready = poll_until(
                lambda: b" ready." in log_path.read_bytes() or worker.poll() is not None,
                timeout, interval=0.005, max_interval=0.005,
            )  # fmt: skip
            booted = time.monotonic() - began
            if not ready or worker.poll() is not None:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise SystemExit(f"the bare worker did not get ready in {timeout} s:\n{tail}")
        finally:
            worker.terminate()
            try:
                worker.wait(15)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(5)
        log_path.unlink()
    return booted


def measure(app: str = "myproject", workdir: Path = REPO / "app", rounds: int = 3,
            timeout: float = 60.0) -> list[float]:  # fmt: skip
    """``rounds`` bare boots against one Redis; the first pays the page cache like any first."""
    with tempfile.TemporaryDirectory(prefix="boot-floor-") as scratch_dir:
        scratch = Path(scratch_dir)
        broker = LocalBroker(run_dir=scratch, run_id="boot-floor", persistence="none")
        broker.spawn()
        try:
            broker.wait_ready()
            url = f"redis://127.0.0.1:{broker.port}/0"
            return [boot_once(app, workdir, url, scratch, timeout) for _ in range(rounds)]
        finally:
            broker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--app", default="myproject", help="the Celery app, as celery -A takes it")
    parser.add_argument("--workdir", type=Path, default=REPO / "app")
    args = parser.parse_args()
    boots = measure(args.app, args.workdir, args.rounds)
    print(f"bare worker boot of {args.app!r}, {args.rounds} rounds: "
          f"median {statistics.median(boots):.3f} s, min {min(boots):.3f}, max {max(boots):.3f} "
          f"({', '.join(f'{b:.3f}' for b in boots)})")  # fmt: skip


if __name__ == "__main__":
    main()
