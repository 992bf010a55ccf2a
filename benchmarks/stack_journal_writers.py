"""Journal under concurrent writers: O_APPEND JSON lines versus SQLite in WAL mode.

Several processes append events at once (as the producer, the runner and each worker's probe
do). For each backend: throughput, per-write latency (median, p99, max) and integrity (every
event present, no torn or interleaved line, each writer's sequence in order).

    python benchmarks/stack_journal_writers.py [--writers 8] [--events 2000] [--payload 200]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from chaos.journal import JournalWriter, read_journal


def append_writer(path: str, name: str, events: int, payload: int, start: float, out) -> None:
    writer = JournalWriter(path, name)
    filler = "x" * payload
    latencies = []
    while time.time() < start:
        pass  # all writers begin together
    for number in range(events):
        began = time.perf_counter()
        writer.write("task.started", task_id=f"{name}-{number}", task="bench", filler=filler)
        latencies.append(time.perf_counter() - began)
    writer.close()
    out.put(latencies)


def sqlite_writer(path: str, name: str, events: int, payload: int, start: float, out) -> None:
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    filler = "x" * payload
    latencies = []
    while time.time() < start:
        pass
    for number in range(events):
        began = time.perf_counter()
        record = json.dumps({"kind": "task.started", "wall": time.time(), "mono": time.monotonic(),
                             "writer": name, "seq": number, "task_id": f"{name}-{number}",
                             "data": {"filler": filler}})  # fmt: skip
        connection.execute("INSERT INTO events(writer, seq, body) VALUES (?, ?, ?)",
                           (name, number, record))  # fmt: skip
        latencies.append(time.perf_counter() - began)
    connection.close()
    out.put(latencies)


def run_backend(kind: str, writers: int, events: int, payload: int) -> dict[str, float | bool]:
    directory = Path(tempfile.mkdtemp(prefix=f"journal-{kind}-"))
    if kind == "append":
        path = directory / "journal.jsonl"
        target = append_writer
    else:
        path = directory / "journal.sqlite3"
        setup = sqlite3.connect(path)
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute(
            "CREATE TABLE events(id INTEGER PRIMARY KEY, writer TEXT, seq INT, body TEXT)"
        )
        setup.close()
        target = sqlite_writer
    out: multiprocessing.Queue = multiprocessing.Queue()
    start = time.time() + 0.5
    processes = [
        multiprocessing.Process(
            target=target, args=(str(path), f"w{n}", events, payload, start, out)
        )
        for n in range(writers)
    ]
    for process in processes:
        process.start()
    latencies = [value for _ in processes for value in out.get(timeout=300)]
    for process in processes:
        process.join(timeout=60)
    elapsed = time.time() - start
    if kind == "append":
        records = [(e.writer, e.seq) for e in read_journal(path)]
    else:
        reader = sqlite3.connect(path)
        records = [(w, s) for w, s in reader.execute("SELECT writer, seq FROM events ORDER BY id")]
        reader.close()
    in_order = all(
        [s for w, s in records if w == f"w{n}"] == list(range(events)) for n in range(writers)
    )
    ordered = sorted(latencies)
    return {
        "events": len(records),
        "expected": writers * events,
        "intact_and_in_order": in_order and len(records) == writers * events,
        "events_per_second": len(records) / elapsed,
        "median_us": statistics.median(ordered) * 1e6,
        "p99_us": ordered[int(len(ordered) * 0.99) - 1] * 1e6,
        "max_ms": ordered[-1] * 1e3,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--payload", type=int, default=200, help="filler bytes per event")
    args = parser.parse_args()
    print(f"{args.writers} writers x {args.events} events, {args.payload} B filler each")
    for kind in ("append", "sqlite-wal"):
        result = run_backend(kind, args.writers, args.events, args.payload)
        print(f"{kind:11s} " + "  ".join(
            f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in result.items()
        ))  # fmt: skip


if __name__ == "__main__":
    main()
