"""Start and stop: nothing leaks, subprocess and CLI modes, SIGTERM/SIGINT, loopback guard,
and the choice between a real toxiproxy-server and the project's own."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from chaos.cli import main
from chaos.errors import ConfigError, ProxyError, StackError
from chaos.proxy import (
    ExternalToxiproxyServer,
    ProxyServer,
    ToxiproxyClient,
    find_toxiproxy_binary,
    start_proxy_server,
)

from tests.trust.support import deliverable_sigint

from .conftest import EchoServer, connect, recv_exactly, wait_for


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _exercise(server: ProxyServer, echo: EchoServer) -> list[socket.socket]:
    client = ToxiproxyClient(server.api_url)
    proxy = client.create_proxy("leaky", echo.address)
    proxy.add_toxic("latency", latency=1)
    proxy.add_toxic("timeout", stream="upstream", timeout=100_000, toxicity=0.0)
    sockets = [connect(proxy) for _ in range(5)]
    for sock in sockets:
        sock.sendall(b"hi")
        assert recv_exactly(sock, 2) == b"hi"
    return sockets


def test_deleting_a_proxy_leaves_no_listener_connection_or_task() -> None:
    echo = EchoServer()
    try:
        with ProxyServer(seed=1) as server:
            idle = server.census()
            sockets = _exercise(server, echo)
            busy = server.census()
            assert (busy["connections"], busy["listeners"]) == (5, 1)
            assert busy["tasks"] > idle["tasks"]  # the latency chains run as tasks
            port = ToxiproxyClient(server.api_url).get_proxy("leaky").listen_port
            ToxiproxyClient(server.api_url).get_proxy("leaky").delete()
            for sock in sockets:
                assert sock.recv(10) == b""
                sock.close()
            wait_for(lambda: server.census() == idle, 5, "the server to drop every task")
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", port), timeout=5)
    finally:
        echo.close()


def test_stopping_the_server_leaves_no_socket_or_thread() -> None:
    echo = EchoServer()
    threads_before = set(threading.enumerate())
    fds_before = _open_fds()
    server = ProxyServer(seed=1).start()
    loop_thread = server._thread
    try:
        sockets = _exercise(server, echo)
    finally:
        server.stop()
    assert loop_thread is not None and not loop_thread.is_alive()
    for sock in sockets:
        assert sock.recv(10) == b""
        sock.close()
    echo.close()
    assert set(threading.enumerate()) <= threads_before
    wait_for(lambda: _open_fds() <= fds_before, 5, "every descriptor to close")


def test_subprocess_mode_serves_and_stops_on_sigterm(
    echo_server: EchoServer, tmp_path: Path
) -> None:
    server = ProxyServer(seed=5, mode="subprocess", log_path=tmp_path / "proxy.log")
    with server:
        assert server.seed == 5
        proxy = ToxiproxyClient(server.api_url).create_proxy("echo", echo_server.address)
        with connect(proxy) as sock:
            sock.sendall(b"hello")
            assert recv_exactly(sock, 5) == b"hello"
            port = proxy.listen_port
    assert server.returncode == 0
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5)
    assert "created proxy" in (tmp_path / "proxy.log").read_text()


def test_cli_populates_from_config_and_shuts_down_cleanly_on_sigint(
    tmp_path: Path, echo_server: EchoServer
) -> None:
    # SIGTERM is covered by the subprocess-mode test (ProxyServer.stop sends it).
    config = tmp_path / "proxies.json"
    config.write_text(json.dumps([{"name": "echo", "upstream": echo_server.address}]))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "chaos",
            "proxy",
            "--port",
            "0",
            "--config",
            str(config),
            "--seed",
            "9",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=deliverable_sigint,
    )
    try:
        assert process.stdout is not None
        ready = process.stdout.readline()
        assert "API listening on http://127.0.0.1:" in ready and "(seed 9)" in ready
        api_url = ready.split("on ")[1].split()[0]
        proxy = ToxiproxyClient(api_url).get_proxy("echo")
        proxy.add_toxic("latency", latency=1)
        with connect(proxy) as sock:
            sock.sendall(b"x")
            assert recv_exactly(sock, 1) == b"x"
            process.send_signal(signal.SIGINT)
            assert process.wait(10) == 0
            assert sock.recv(10) == b""
        log = process.stderr.read() if process.stderr else ""
        assert "added toxic" in log and "shutting down" in log
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_cli_reports_a_bad_config_with_its_location(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "proxies.json"
    config.write_text('[\n  {"name": "a",}\n]')
    assert main(["proxy", "--port", "0", "--config", str(config)]) == 2
    assert f"{config}:2:" in capsys.readouterr().err


def test_cli_refuses_an_api_off_loopback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["proxy", "--host", "0.0.0.0", "--port", "0"]) == 2
    assert "--allow-remote" in capsys.readouterr().err


#: An address off loopback that no interface here has (TEST-NET-1, never routed).
OFF_LOOPBACK = "192.0.2.1"


def test_off_loopback_needs_allow_remote() -> None:
    with pytest.raises(ConfigError, match="--allow-remote"):
        ProxyServer("0.0.0.0")
    with ProxyServer() as server:
        with pytest.raises(ProxyError) as refused:
            ToxiproxyClient(server.api_url).create_proxy("open", "127.0.0.1:1", listen="0.0.0.0:0")
        assert refused.value.status == 400 and "--allow-remote" in refused.value.message
    # With allow_remote the refusal is lifted: what fails next is the bind itself. 192.0.2.1
    # (TEST-NET-1) is on no interface here, so nothing ever listens off loopback in this test.
    with pytest.raises(StackError, match="cannot bind the API on 192.0.2.1:0"):
        ProxyServer(OFF_LOOPBACK, allow_remote=True).start()
    with ProxyServer(allow_remote=True) as server:
        with pytest.raises(ProxyError) as unbound:
            ToxiproxyClient(server.api_url).create_proxy("open", "127.0.0.1:1",
                                                         listen=f"{OFF_LOOPBACK}:0")
        assert unbound.value.status == 500 and "cannot assign requested address" in (
            unbound.value.message
        )


def test_upstream_off_loopback_is_not_dialled_without_allow_remote(toxiproxy) -> None:  # type: ignore[no-untyped-def]
    proxy = toxiproxy.create_proxy("far", "192.0.2.1:6379")  # TEST-NET-1: never routed
    with connect(proxy) as sock:
        assert sock.recv(10) == b""


def _fake_toxiproxy_server(directory: Path) -> Path:
    """A ``toxiproxy-server`` stand-in: our own server behind toxiproxy-server's flags."""
    script = directory / "toxiproxy-server"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m chaos proxy "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_start_proxy_server_prefers_a_named_toxiproxy_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    binary = _fake_toxiproxy_server(tmp_path)
    monkeypatch.setenv("CHAOS_TOXIPROXY_SERVER", str(binary))
    with start_proxy_server(seed=3) as server:
        assert isinstance(server, ExternalToxiproxyServer)
        assert server.client().version() == "2.12.0"
        process = server._process
    assert process is not None and process.returncode == 0  # stopped and reaped


def test_start_proxy_server_finds_toxiproxy_server_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_toxiproxy_server(tmp_path)
    monkeypatch.delenv("CHAOS_TOXIPROXY_SERVER", raising=False)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert find_toxiproxy_binary() == str(tmp_path / "toxiproxy-server")
    monkeypatch.setenv("CHAOS_TOXIPROXY_SERVER", "builtin")
    assert find_toxiproxy_binary() is None
    with start_proxy_server() as server:
        assert isinstance(server, ProxyServer)


def test_start_proxy_server_names_a_missing_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAOS_TOXIPROXY_SERVER", "/nonexistent/toxiproxy-server")
    with pytest.raises(ConfigError, match="CHAOS_TOXIPROXY_SERVER"):
        start_proxy_server()
