"""Cold start of a local stack to the first task executed: median of N, with the breakdown.

Each round starts Redis, the proxy and one solo worker of the reference app (a fresh run dir,
a fresh worker process), publishes ``shop.tasks.send_invoice_email`` through the proxy as soon
as the stack is ready, and stops the clock when the probe journals the task's success. The
migrated template database is built once before the rounds (a per-machine, per-schema cost,
reported on its own).

    python benchmarks/stack_cold_start.py [--rounds 10] [--pool solo] [--worker-start spawn]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from celery import Celery

from chaos.producer import Producer
from chaos.stack import LocalStack
from chaos.stack._django_db import template_database
from chaos.stack._journal_tail import JournalTail
from chaos.stack._waiting import poll_until
from chaos.stack.base import StackConfig

TASK = "shop.tasks.send_invoice_email"


def one_round(
    base: Path, number: int, pool: str, worker_start: str, publisher: Celery
) -> dict[str, float]:
    config = StackConfig(run_dir=base / f"round-{number}", pool=pool,  # type: ignore[arg-type]
                         worker_start=worker_start)  # type: ignore[arg-type]  # fmt: skip
    began = time.monotonic()
    stack = LocalStack(config)
    with stack:
        ready = time.monotonic() - began
        with Producer.for_stack(publisher, stack) as producer:
            sent = producer.send(TASK, [number])
        tail = JournalTail(stack.journal_path)
        done = poll_until(
            lambda: tail.find(lambda e: e.kind == "task.succeeded" and e.task_id == sent.task_id),
            30, interval=0.002, max_interval=0.01,
        )  # fmt: skip
        first_task = time.monotonic() - began
        if not done:
            raise SystemExit(f"round {number}: the task never succeeded; see {stack.run_dir}")
        boot = tail.find(lambda e: e.kind == "worker.ready").data["boot"]  # type: ignore[union-attr]
    return {
        "first_task": first_task,
        "stack_ready": ready,
        "publish_to_success": first_task - ready,
        "redis_ready": stack.started_seconds["broker"],
        "proxy_up": stack.started_seconds["proxy"],
        "django_db_copy": stack.started_seconds.get("django_db", 0.0),
        "worker_spawn_to_launcher": boot.get("spawn_to_launcher", 0.0),
        "worker_app_import": boot.get("app_import", 0.0),
        "worker_django_setup": boot.get("django_setup", 0.0),
        "worker_broker_wait": boot.get("broker_wait", 0.0),
        "worker_main_to_init": boot.get("worker_main_to_init", 0.0),
        "worker_init_to_ready": boot.get("worker_init_to_ready", 0.0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--pool", default="solo", choices=("solo", "prefork", "threads"))
    parser.add_argument(
        "--worker-start",
        default="spawn",
        choices=("spawn", "forkserver"),
        help="forkserver: the first round warms the fork server (reported apart)",
    )
    args = parser.parse_args()
    config = StackConfig()
    began = time.monotonic()
    template_database(Path(config.workdir), str(config.settings_module), {})
    print(f"template database (once per schema): {time.monotonic() - began:.2f} s")
    publisher = Celery("cold-start-publisher", set_as_current=False)
    rounds = []
    with tempfile.TemporaryDirectory(prefix="cold-start-") as base:
        if args.worker_start == "forkserver":
            warm = one_round(Path(base), -1, args.pool, args.worker_start, publisher)
            print(f"warm-up round (starts the fork server): {warm['first_task']:.3f} s")
        for number in range(args.rounds):
            rounds.append(one_round(Path(base), number, args.pool, args.worker_start, publisher))
            print(f"round {number + 1}: first task at {rounds[-1]['first_task']:.3f} s")
    print(f"\nmedian of {args.rounds} rounds, pool={args.pool}, "
          f"worker_start={args.worker_start} (seconds):")  # fmt: skip
    for key in rounds[0]:
        values = sorted(r[key] for r in rounds)
        print(f"  {key:22s} median {statistics.median(values):6.3f}   "
              f"min {values[0]:6.3f}   max {values[-1]:6.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
