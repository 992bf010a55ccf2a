"""Docker backend: stack start (Redis, proxy, two workers) to the first task executed.

With the images built beforehand (not timed), each round opens a DockerStack, publishes one task
from the host through the proxy and waits for the probe's ``task.succeeded`` in the journal.
Teardown is not timed. Target (issue 9): median of 5 <= 4 s.

    python benchmarks/docker_stack_start.py [--rounds 5] [--workers 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path


def first_task_seconds(images, workers: int, run_dir: Path) -> tuple[float, dict[str, float]]:
    from celery import Celery

    from chaos.journal import read_journal
    from chaos.producer import Producer
    from chaos.stack._waiting import poll_until
    from chaos.stack.base import StackConfig
    from chaos.stack.docker import DockerStack

    app = Celery("producer")  # publishes by task name: the app's code stays in the workers
    began = time.monotonic()
    config = StackConfig(workers=workers, run_dir=run_dir, start_timeout=60)
    with DockerStack(config, images=images) as stack:
        with Producer.for_stack(app, stack) as producer:
            outcome = producer.send("shop.tasks.send_invoice_email", args=[1])
        if not outcome.accepted:
            raise SystemExit(f"publish refused: {outcome}")

        def executed() -> bool:
            return any(
                event.kind == "task.succeeded" and event.task_id == outcome.task_id
                for event in read_journal(stack.run_dir)
            )

        if not poll_until(executed, 60, interval=0.01, max_interval=0.02):
            raise SystemExit("the task did not execute within 60 s")
        seconds = time.monotonic() - began
        steps = dict(stack.started_seconds)
    return seconds, steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    from chaos.stack.base import REFERENCE_APP_DIR
    from chaos.stack.docker import ImageBuilder

    images = ImageBuilder(progress=None).build_all(REFERENCE_APP_DIR, "auto")
    print(f"images: redis {images.redis}, proxy {images.proxy.tag} ({images.proxy.flavour}), "
          f"worker {images.worker}")  # fmt: skip
    timings = []
    with tempfile.TemporaryDirectory(prefix="bench-docker-") as scratch:
        for round_number in range(1, args.rounds + 1):
            seconds, steps = first_task_seconds(
                images, args.workers, Path(scratch) / f"round-{round_number}"
            )
            timings.append(seconds)
            breakdown = ", ".join(f"{name} {value:.2f}" for name, value in steps.items())
            print(f"round {round_number}: {seconds:.2f} s to the first task ({breakdown})")
    median = statistics.median(timings)
    print(
        f"stack start ({args.workers} workers) to first task executed: median {median:.2f} s, "
        f"min {min(timings):.2f} s, max {max(timings):.2f} s over {args.rounds} rounds "
        f"(target <= 4 s: {'met' if median <= 4 else 'NOT met'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
