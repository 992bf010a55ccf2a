"""The fault proxy server: its API and proxies on one event loop, run in a thread or a process.

``ProxyService`` is the server itself (an asyncio object). ``ProxyServer`` is the handle the rest
of the package uses: ``mode="thread"`` runs the service on its own thread and loop in this
process, ``mode="subprocess"`` runs ``python -m chaos proxy`` and reads the address it prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import random
import re
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal, Self

from aiohttp import web

from chaos.errors import ConfigError, Problem, StackError
from chaos.inputs import MAX_SCENARIO_BYTES, read_json
from chaos.proxy.api import build_app
from chaos.proxy.model import ApiError
from chaos.proxy.registry import ProxyCollection

log = logging.getLogger("chaos.proxy")

#: The line ``chaos proxy`` prints on stdout once its API answers.
READY_LINE = "chaos proxy: API listening on http://{address} (seed {seed})"
_READY_PATTERN = re.compile(r"API listening on http://(\S+) \(seed (-?\d+)\)")


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it is installed (a faster data path), else asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def random_seed() -> int:
    return random.SystemRandom().randrange(2**31)


def check_api_host(host: str, allow_remote: bool) -> None:
    """Refuse an API address off loopback unless the caller asked for it explicitly."""
    if allow_remote:
        return
    candidate = "127.0.0.1" if host == "localhost" else host
    try:
        loopback = ipaddress.ip_address(candidate).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ConfigError(
            [
                Problem(
                    "the API address is off loopback",
                    field_path="--host",
                    given=repr(host),
                    expected="127.0.0.1, ::1 or localhost",
                    hint="pass --allow-remote to bind other interfaces on purpose",
                )
            ]
        )


def load_config(path: Path) -> list[Any]:
    """A ``--config`` file: the JSON array ``/populate`` takes."""
    entries = read_json(path, what="a proxies file", max_bytes=MAX_SCENARIO_BYTES)
    if not isinstance(entries, list):
        raise ConfigError(
            [Problem("expected a JSON array of proxies", file=path, given=type(entries).__name__)]
        )
    return entries


class ProxyService:
    """The API server and every proxy it holds, on the running event loop."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        seed: int | None = None,
        allow_remote: bool = False,
        config: list[Any] | None = None,
    ) -> None:
        check_api_host(host, allow_remote)
        self.host = host
        self.port = port
        self.seed = random_seed() if seed is None else seed
        self.allow_remote = allow_remote
        self.config = config
        self.collection: ProxyCollection | None = None
        self.address = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        """Bind the API, populate ``config``; returns ``host:port`` as bound."""
        loop = asyncio.get_running_loop()
        self.collection = ProxyCollection(loop, seed=self.seed, allow_remote=self.allow_remote)
        host = "127.0.0.1" if self.host == "localhost" else self.host
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, self.port))
        except OSError as exc:
            sock.close()
            raise StackError(
                "proxy",
                f"cannot bind the API on {host}:{self.port}: {exc.strerror}",
                hint="pick another --port, or 0 for a free one",
            ) from None
        self._runner = web.AppRunner(
            build_app(self.collection), access_log=None, handle_signals=False
        )
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        bound_host, bound_port = sock.getsockname()[:2]
        self.address = (
            f"[{bound_host}]:{bound_port}" if ":" in bound_host else (f"{bound_host}:{bound_port}")
        )
        if self.config:
            try:
                await self.collection.populate(self.config)
            except ApiError as exc:
                await self.close()
                raise ConfigError(f"--config: {exc.message}") from None
        log.info(
            "API listening on http://%s (seed %d, event loop %s)",
            self.address,
            self.seed,
            type(loop).__module__,
        )
        return self.address

    async def close(self) -> None:
        """Close every proxy, connection and the API; nothing of this service is left running."""
        if self.collection is not None:
            self.collection.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        # Let closed transports run their connection_lost callbacks before the loop goes.
        await asyncio.sleep(0)


def run_until_signalled(service: ProxyService, out: IO[str]) -> None:
    """``chaos proxy``: serve until SIGTERM or SIGINT, then close every listener."""
    loop = new_event_loop()
    asyncio.set_event_loop(loop)

    async def main() -> None:
        stopping = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stopping.set)
        address = await service.start()
        print(READY_LINE.format(address=address, seed=service.seed), file=out, flush=True)
        await stopping.wait()
        log.info("shutting down")
        await service.close()

    try:
        loop.run_until_complete(main())
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        loop.close()
        asyncio.set_event_loop(None)


Mode = Literal["thread", "subprocess"]


class ProxyServer:
    """The project's Toxiproxy-compatible server, started in this process or as a subprocess.

    ``start()`` returns once the API answers; ``stop()`` closes every listener, connection, task
    and thread (or ends the process). A context manager.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        seed: int | None = None,
        mode: Mode = "thread",
        allow_remote: bool = False,
        config: Path | str | None = None,
        start_timeout: float = 15.0,
        log_path: Path | str | None = None,
    ) -> None:
        if mode not in ("thread", "subprocess"):
            raise ConfigError(
                [
                    Problem(
                        "unknown mode",
                        field_path="mode",
                        given=repr(mode),
                        expected="'thread' or 'subprocess'",
                    )
                ]
            )
        check_api_host(host, allow_remote)
        self.host = host
        self.port = port
        self.seed = seed
        self.mode = mode
        self.allow_remote = allow_remote
        self.config = Path(config) if config is not None else None
        self.start_timeout = start_timeout
        self.log_path = Path(log_path) if log_path is not None else None
        self.address = ""
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_requested: asyncio.Event | None = None
        self._process: subprocess.Popen[str] | None = None
        self._log_file: IO[bytes] | None = None
        self._service: ProxyService | None = None
        self.returncode: int | None = None
        """subprocess mode: the exit status of ``chaos proxy`` once stopped."""

    @property
    def api_url(self) -> str:
        if not self.address:
            raise StackError("proxy", "the proxy server is not started")
        return f"http://{self.address}"

    @property
    def pid(self) -> int | None:
        """subprocess mode: the server's process id while it runs."""
        return self._process.pid if self._process is not None else None

    @property
    def kind(self) -> str:
        return "chaos"

    def client(self) -> Any:
        from chaos.proxy.client import ToxiproxyClient

        return ToxiproxyClient(self.api_url)

    def start(self) -> Self:
        if self.address:
            return self
        if self.mode == "thread":
            self._start_thread()
        else:
            self._start_process()
        return self

    # --- thread mode -----------------------------------------------------------------------

    def _start_thread(self) -> None:
        config = load_config(self.config) if self.config is not None else None
        service = ProxyService(
            self.host, self.port, seed=self.seed, allow_remote=self.allow_remote, config=config
        )
        started = threading.Event()
        outcome: dict[str, Any] = {}

        def serve() -> None:
            loop = new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)

            async def main() -> None:
                self._stop_requested = asyncio.Event()
                try:
                    outcome["address"] = await service.start()
                except Exception as exc:  # noqa: BLE001 - handed to the starting thread, raised there
                    outcome["error"] = exc
                    started.set()
                    return
                started.set()
                await self._stop_requested.wait()
                await service.close()

            try:
                loop.run_until_complete(main())
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                loop.close()
                asyncio.set_event_loop(None)

        self._service = service
        self._thread = threading.Thread(target=serve, name="chaos-proxy", daemon=True)
        self._thread.start()
        if not started.wait(self.start_timeout):
            raise StackError("proxy", f"the API did not start within {self.start_timeout} s")
        if "error" in outcome:
            self._thread.join(self.start_timeout)
            self._thread = None
            raise outcome["error"]
        self.address = outcome["address"]
        self.seed = service.seed

    # --- subprocess mode -------------------------------------------------------------------

    def command(self) -> list[str]:
        argv = [
            sys.executable,
            "-m",
            "chaos",
            "proxy",
            "--host",
            self.host,
            "--port",
            str(self.port),
        ]
        if self.seed is not None:
            argv += ["--seed", str(self.seed)]
        if self.config is not None:
            argv += ["--config", str(self.config)]
        if self.allow_remote:
            argv.append("--allow-remote")
        return argv

    def _start_process(self) -> None:
        if self.log_path is not None:
            self._log_file = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self._process = subprocess.Popen(
            self.command(),
            stdout=subprocess.PIPE,
            stderr=self._log_file if self._log_file is not None else subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        try:
            line = self._read_ready_line()
        except BaseException:
            self.stop()
            raise
        match = _READY_PATTERN.search(line)
        assert match is not None
        self.address = match.group(1)
        self.seed = int(match.group(2))

    def _read_ready_line(self) -> str:
        assert self._process is not None and self._process.stdout is not None
        deadline = time.monotonic() + self.start_timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self._process.stdout, selectors.EVENT_READ)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise StackError(
                        "proxy",
                        f"`{' '.join(self.command())}` did not answer within "
                        f"{self.start_timeout} s",
                        log_tail=self._log_tail(),
                    )
                if selector.select(remaining):
                    line = self._process.stdout.readline()
                    if _READY_PATTERN.search(line):
                        return line
                    if not line:
                        code = self._process.wait(self.start_timeout)
                        raise StackError(
                            "proxy",
                            f"`chaos proxy` exited with status {code} before its API answered",
                            log_tail=self._log_tail(),
                        )

    def _log_tail(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-20:])

    # --- stop ------------------------------------------------------------------------------

    def stop(self) -> None:
        """Close everything this server started; safe to call twice."""
        if self._thread is not None:
            loop, stop_requested = self._loop, self._stop_requested
            if loop is not None and stop_requested is not None and not loop.is_closed():
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(stop_requested.set)
            self._thread.join(self.start_timeout)
            if self._thread.is_alive():
                raise StackError("proxy", "the proxy thread did not stop")
            self._thread = None
        if self._process is not None:
            process, self._process = self._process, None
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(self.start_timeout)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(self.start_timeout)
            self.returncode = process.returncode
            if process.stdout is not None:
                process.stdout.close()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        self.address = ""
        self._service = None

    def census(self, timeout: float = 5.0) -> dict[str, int]:
        """What the in-process server holds now: proxies, listeners, live connections, asyncio
        tasks besides its own main task, and links whose reads go straight to the other socket
        (the fast path). For leak checks and fast-path tests (thread mode only)."""
        service, loop = self._service, self._loop
        if service is None or loop is None or service.collection is None:
            raise StackError("proxy", "census() needs a started server in thread mode")
        collection = service.collection

        async def count() -> dict[str, int]:
            proxies = list(collection.proxies.values())
            return {
                "proxies": len(proxies),
                "listeners": sum(proxy.running for proxy in proxies),
                "connections": sum(len(proxy.connections) for proxy in proxies),
                "tasks": len(asyncio.all_tasks()) - 2,  # minus main() and this one
                "fast_links": sum(
                    link.on_fast_path()
                    for proxy in proxies
                    for connection in proxy.connections
                    for link in (connection.upstream, connection.downstream)
                ),
            }

        return asyncio.run_coroutine_threadsafe(count(), loop).result(timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
