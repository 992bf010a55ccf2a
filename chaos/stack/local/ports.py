"""Free TCP ports on 127.0.0.1, asked of the kernel (bind port 0), never fixed ones."""

from __future__ import annotations

import socket

from chaos.errors import StackError

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A port nobody listens on right now. A small race remains until the caller binds it."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe_socket:
            probe_socket.bind((LOOPBACK, 0))
            return int(probe_socket.getsockname()[1])
    except OSError as exc:
        raise StackError(
            "ports", f"no free TCP port on {LOOPBACK}: {exc}", hint="too many open sockets?"
        ) from exc


def is_listening(port: int, host: str = LOOPBACK) -> bool:
    """True if something accepts TCP connections on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as client:
        client.settimeout(0.2)
        return client.connect_ex((host, port)) == 0
