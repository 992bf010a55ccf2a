"""Several Docker engines at once: the list, which engine an xdist worker uses, a client for each.

``CHAOS_DOCKER_HOSTS`` (or ``--chaos-docker-hosts``) names engines, comma-separated, e.g.
``unix:///var/run/docker.sock,tcp://127.0.0.1:2385``. A pytest-xdist worker ``gwN`` takes the
engine ``N mod len`` (round-robin); a session without xdist takes the first. The choice is made
by setting ``DOCKER_HOST`` in that worker's process before any client exists, so every part
(the SDK client, Testcontainers, readiness pings) talks to the same engine.
"""

from __future__ import annotations

import os

import docker
from docker.errors import DockerException

from chaos.errors import StackError
from chaos.stack.docker.engine import NO_ENGINE_HINT

ENV_DOCKER_HOSTS = "CHAOS_DOCKER_HOSTS"
#: The engine docker's client uses when DOCKER_HOST is unset.
DEFAULT_ENGINE = "unix:///var/run/docker.sock"


def docker_hosts(value: str | None = None) -> list[str]:
    """The engines named by ``value`` (or ``CHAOS_DOCKER_HOSTS``), in order, duplicates dropped."""
    raw = os.environ.get(ENV_DOCKER_HOSTS, "") if value is None else value
    hosts: list[str] = []
    for part in raw.split(","):
        host = part.strip()
        if host and host not in hosts:
            hosts.append(host)
    return hosts


def engine_for_worker(hosts: list[str], worker_id: str) -> str | None:
    """The engine of xdist worker ``gwN`` (round-robin), the first for ``main``; None without hosts."""
    if not hosts:
        return None
    index = int(worker_id[2:]) if worker_id.startswith("gw") and worker_id[2:].isdigit() else 0
    return hosts[index % len(hosts)]


def use_engine_for_worker(worker_id: str, value: str | None = None) -> str | None:
    """Point this process's ``DOCKER_HOST`` at the worker's engine; return it (None: unchanged)."""
    host = engine_for_worker(docker_hosts(value), worker_id)
    if host is not None:
        os.environ["DOCKER_HOST"] = host
    return host


def current_engine() -> str:
    """The engine this process talks to: DOCKER_HOST, or the default socket."""
    return os.environ.get("DOCKER_HOST") or DEFAULT_ENGINE


def client_for(url: str) -> docker.DockerClient:
    """A checked client for the engine at ``url`` (not the process's cached one)."""
    try:
        client = docker.DockerClient(base_url=url, timeout=120)
        client.ping()
    except DockerException as exc:
        raise StackError(
            "docker engine", f"no Docker engine answers at {url}: {exc}", hint=NO_ENGINE_HINT
        ) from exc
    return client


def known_engines() -> list[str]:
    """Every engine this machine's runs may have used: CHAOS_DOCKER_HOSTS, else the current one."""
    return docker_hosts() or [current_engine()]
