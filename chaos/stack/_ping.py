"""A raw RESP ``PING``: readiness checks that cost one round trip and never retry by themselves.

redis-py retries a failed connect for seconds by default (10 retries with backoff), which would
turn a readiness poll into a slow one; a bare socket answers at once.
"""

from __future__ import annotations

import socket


def redis_ping(host: str, port: int, timeout: float = 0.5) -> bool:
    """True if a Redis server answers ``+PONG`` at host:port within ``timeout`` seconds."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as connection:
            connection.settimeout(timeout)
            connection.sendall(b"PING\r\n")
            return connection.recv(64).startswith(b"+PONG")
    except OSError:
        return False
