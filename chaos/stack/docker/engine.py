"""The Docker engine connection, and the Testcontainers settings this machine needs.

Every docker-backend part gets its client here, so that ``DOCKER_HOST`` (and a docker context)
is respected in one place and an engine that does not answer is one clear ``StackError``.
"""

from __future__ import annotations

import os
import urllib.parse
from functools import cache
from pathlib import Path

import docker
from docker.errors import DockerException

from chaos.errors import StackError

NO_ENGINE_HINT = "start dockerd (bash scripts/ensure-docker), or use --backend local"

#: Where ports are published on the engine's host. Loopback by default; a team pointing
#: DOCKER_HOST at a remote engine sets this (and TC_HOST) to an address the producer can reach.
ENV_PUBLISH_HOST = "CHAOS_DOCKER_PUBLISH_HOST"


def engine_is_local() -> bool:
    """True when the engine runs on this machine (a unix socket), so 127.0.0.1 reaches its ports."""
    docker_host = os.environ.get("DOCKER_HOST", "")
    return not docker_host or urllib.parse.urlparse(docker_host).scheme in ("unix", "npipe", "")


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def engine_on_loopback() -> bool:
    """True for an engine on this machine: a unix socket, or TCP on a loopback address
    (a second engine, ``scripts/second-engine``): the published ports are this machine's."""
    docker_host = os.environ.get("DOCKER_HOST", "")
    return engine_is_local() or urllib.parse.urlparse(docker_host).hostname in LOOPBACK_HOSTS


def publish_host() -> str:
    """Address on the engine's host that published ports bind to (127.0.0.1 unless told)."""
    return os.environ.get(ENV_PUBLISH_HOST, "127.0.0.1")


def configure_testcontainers() -> None:
    """Apply the measured settings (DESIGN.md) unless the user set them explicitly.

    This machine has ``/.dockerenv``, so Testcontainers believes it runs in a container and hands
    out the bridge gateway as host; ``docker_host`` mode with 127.0.0.1 gives the published
    loopback port instead. Ryuk's image cannot be pulled without a registry, so it is disabled
    and leftovers are reaped by label (``reap_docker``).
    """
    from testcontainers.core.config import ConnectionMode, testcontainers_config

    if engine_is_local():
        if not (os.environ.get("TC_HOST") or os.environ.get("TESTCONTAINERS_HOST_OVERRIDE")):
            testcontainers_config.tc_host_override = publish_host()
    # A loopback TCP engine too: Testcontainers would otherwise pick the gateway or bridge
    # address here (it sees /.dockerenv and a local host name); the host is DOCKER_HOST's.
    if engine_on_loopback():
        if "TESTCONTAINERS_CONNECTION_MODE" not in os.environ and Path("/.dockerenv").exists():
            testcontainers_config.connection_mode_override = ConnectionMode.docker_host
    if "TESTCONTAINERS_RYUK_DISABLED" not in os.environ:
        testcontainers_config.ryuk_disabled = True


@cache
def engine_client() -> docker.DockerClient:
    """The process's client for the engine (connected and checked once)."""
    return connect_engine()


def connect_engine() -> docker.DockerClient:
    """A client for the engine DOCKER_HOST names (or the default socket), checked to answer."""
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except DockerException as exc:
        where = os.environ.get("DOCKER_HOST") or "the default socket"
        raise StackError(
            "docker engine",
            f"no Docker engine answers at {where}: {exc}",
            hint=NO_ENGINE_HINT,
        ) from exc
    configure_testcontainers()
    return client
