"""What a journal event costs through the run service (docker backend) against a local append.

A worker container journals over a TCP connection to the runner, answered once the line is in the
runner's journal (``chaos.run_channel``); a local process appends to the file itself. This times
both from one process on this machine's loopback (a container adds a veth hop).

    python benchmarks/run_service_journal.py [--events 2000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from chaos.journal import JournalWriter
from chaos.run_channel import ENV_RUN_SERVICE
from chaos.stack.docker.run_service import RunService

ELSEWHERE = "/nonexistent-chaos-run"


def per_event(writer: JournalWriter, events: int) -> float:
    began = time.perf_counter()
    for number in range(events):
        writer.write("task.started", number=number)
    return (time.perf_counter() - began) / events


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    events = parser.parse_args().events
    run_dir = Path(tempfile.mkdtemp(prefix="chaos-bench-"))
    local = per_event(JournalWriter.for_run_dir(run_dir / "local", "bench"), events)
    with RunService(run_dir, "127.0.0.1") as service:
        os.environ.update({"CHAOS_RUN_DIR": ELSEWHERE, ENV_RUN_SERVICE: service.address})
        served = per_event(JournalWriter.for_run_dir(ELSEWHERE, "bench"), events)
    print(f"local append: {local * 1e6:.0f} us/event; run service: {served * 1e6:.0f} us/event "
          f"({events} events, load average {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
