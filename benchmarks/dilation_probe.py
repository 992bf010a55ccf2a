"""What a libfaketime-dilated clock really does to Python's waits, measured in real seconds.

Each operation waits 1 s of the app's time in a fresh preloaded interpreter (and again in a
child it forks, as billiard's prefork pool does); this process, not preloaded, timestamps the
child's "begin" and "end" lines on real CLOCK_MONOTONIC. Expected: 1/N real seconds. A wait that
libfaketime does not scale shows 1 s, and one it breaks shows "hung" (no end within 5 s real).
Then two processes started 1 s apart are asked for "now" at the same real instant: without a
shared origin their app clocks differ by (N - 1) × 1 s; with chaos.clock's shared origin they
agree with each other and with the runner's own AppClock.

    python benchmarks/dilation_probe.py [--dilation 10]
"""

from __future__ import annotations

import argparse
import os
import select
import subprocess
import sys
import time

from chaos.clock import AppClock, libfaketime_path, preload_libraries

HUNG_SECONDS = 5.0

#: One operation that waits 1 s of app time, by name.
OPERATIONS = {
    "time.sleep": "time.sleep(1)",
    "select.select": "select.select([], [], [], 1)",
    "select.poll": "select.poll().poll(1000)",
    "select.epoll": "select.epoll().poll(1)",
    "Event.wait": "threading.Event().wait(1)",
    "Queue.get": "_queue_get()",
    "socket.accept": "_accept()",
    "Condition.wait": "_condition()",
}

CHILD = r"""
import os, queue, select, socket, sys, threading, time
def _queue_get():
    try:
        queue.Queue().get(timeout=1)
    except queue.Empty:
        pass
def _accept():
    listener = socket.socket(); listener.bind(("127.0.0.1", 0)); listener.listen()
    listener.settimeout(1)
    try:
        listener.accept()
    except (socket.timeout, TimeoutError):
        pass
def _condition():
    condition = threading.Condition()
    with condition:
        condition.wait(1)
def run(where):
    w0, m0 = time.time(), time.monotonic()
    print("B", where, flush=True)
    OPERATION
    print("E", where, time.time() - w0, time.monotonic() - m0, flush=True)
run("parent")
child = os.fork()
if child == 0:
    run("forked")
    os._exit(0)
os.waitpid(child, 0)
"""

NOW = r"""
import sys, time
for line in sys.stdin:
    print(time.time(), time.monotonic(), flush=True)
"""


def timed_lines(process: subprocess.Popen[str], deadline: float) -> list[tuple[float, str]]:
    """Each stdout line with the real monotonic time it arrived, until EOF or the deadline."""
    assert process.stdout is not None
    lines: list[tuple[float, str]] = []
    buffered = ""
    fd = process.stdout.fileno()
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(fd, 4096).decode()
        arrived = time.monotonic()
        if not chunk:
            break
        buffered += chunk
        while "\n" in buffered:
            line, buffered = buffered.split("\n", 1)
            lines.append((arrived, line))
    return lines


def measure_operation(name: str, env: dict[str, str]) -> dict[str, str]:
    source = CHILD.replace("OPERATION", OPERATIONS[name])
    process = subprocess.Popen([sys.executable, "-c", source], env=env, stdout=subprocess.PIPE,
                               text=True)  # fmt: skip
    lines = timed_lines(process, time.monotonic() + 2 * HUNG_SECONDS + 2)
    process.kill()
    process.wait()
    began: dict[str, float] = {}
    results: dict[str, str] = {}
    for arrived, line in lines:
        parts = line.split()
        if parts[0] == "B":
            began[parts[1]] = arrived
        elif parts[0] == "E":
            real = arrived - began[parts[1]]
            results[parts[1]] = f"{real:6.3f} real (app {float(parts[2]):.2f} / {float(parts[3]):.2f})"
    for where in ("parent", "forked"):
        results.setdefault(where, "hung" if where in began else "not reached")
    return results


def clock_rate(env: dict[str, str], real_gap: float = 0.5) -> tuple[float, float]:
    """App seconds of time.time and time.monotonic per real second."""
    process = subprocess.Popen([sys.executable, "-c", NOW], env=env, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert process.stdin is not None and process.stdout is not None
    readings = []
    for _ in range(2):
        asked = time.monotonic()
        process.stdin.write("now\n")
        process.stdin.flush()
        wall, mono = map(float, process.stdout.readline().split())
        readings.append(((asked + time.monotonic()) / 2, wall, mono))
        time.sleep(real_gap)
    process.stdin.close()
    process.wait()
    (r0, w0, m0), (r1, w1, m1) = readings
    return (w1 - w0) / (r1 - r0), (m1 - m0) / (r1 - r0)


def origin_gap(env: dict[str, str], clock: AppClock | None) -> str:
    """Start two processes 1 s apart, read both clocks at one real instant: the difference."""
    first = subprocess.Popen([sys.executable, "-c", NOW], env=env, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)  # fmt: skip
    time.sleep(1.0)
    second = subprocess.Popen([sys.executable, "-c", NOW], env=env, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    readings = []
    for process in (first, second, first, second):
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write("now\n")
        process.stdin.flush()
        readings.append(float(process.stdout.readline().split()[0]))
    own = clock.wall() if clock is not None else None
    for process in (first, second):  # EOF: a normal exit lets libfaketime remove its own record
        assert process.stdin is not None
        process.stdin.close()
        process.wait()
    # first, second, first, second: the mean of the two firsts brackets the second's reading.
    gap = readings[1] - (readings[0] + readings[2]) / 2
    text = f"second - first = {gap:+.3f} app s"
    if own is not None:
        text += f"; runner's AppClock - second = {own - readings[3]:+.3f} app s"
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dilation", type=float, default=10.0)
    options = parser.parse_args()
    n = options.dilation
    library = str(libfaketime_path())
    plain = {**os.environ, "LD_PRELOAD": library, "FAKETIME": f"+0 x{n:g}"}
    shimmed = {**plain, "LD_PRELOAD": " ".join(map(str, preload_libraries()))}
    print(f"libfaketime: {libfaketime_path()}\nFAKETIME=\"+0 x{n:g}\": 1 s of app time should "
          f"take {1 / n:.3f} real s\n")  # fmt: skip
    print(f"{'operation (1 app s)':<22} {'parent':<34} {'forked child':<34}")
    with AppClock(n) as origin:
        # One shared start record: a hung child is killed, and must not leave its own behind.
        plain["FAKETIME_SHARED"] = shimmed["FAKETIME_SHARED"] = origin.env()["FAKETIME_SHARED"]
        for label, env in (("libfaketime alone", plain), ("with chaos's shim", shimmed)):
            print(f"-- {label}")
            for name in OPERATIONS:
                results = measure_operation(name, env)
                print(f"{name:<22} {results['parent']:<34} {results['forked']:<34}")
        wall_rate, mono_rate = clock_rate(shimmed)
    plain.pop("FAKETIME_SHARED")
    print(f"\nclock rate (app s per real s): time.time {wall_rate:.2f}, time.monotonic "
          f"{mono_rate:.2f}")  # fmt: skip
    print(f"started 1 s apart, no shared origin: {origin_gap(plain, None)} "
          f"(expected {-(n - 1):.1f})")  # fmt: skip
    with AppClock(n) as clock:
        shared = {**os.environ, **clock.env()}
        print(f"started 1 s apart, chaos.clock origin: {origin_gap(shared, clock)} (expected 0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
