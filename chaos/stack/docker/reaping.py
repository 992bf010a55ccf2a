"""Removing what docker stacks left behind, found by label (there is no Ryuk container here)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import docker
from docker.errors import APIError, NotFound

from chaos.stack.docker.engine import engine_client
from chaos.stack.docker.labels import LABEL_MANAGED, LABEL_ROLE, LABEL_RUN_ID, owner_is_alive

#: The role of the container whose network namespace Redis joins (redis_container.py).
HOLDER_ROLE = "redis-net"


def reap_docker(
    run_id: str | None = None,
    *,
    include_live: bool = False,
    client: docker.DockerClient | None = None,
    dry_run: bool = False,
) -> list[str]:
    """Remove labelled containers, then networks, then volumes; return what was removed.

    With ``run_id``: everything of that run, owned or not. Without: what belongs to runs whose
    owner process is dead (a runner killed with ``kill -9``), or everything labelled with
    ``include_live``. ``dry_run``: remove nothing, return what would go. Raises StackError when no
    engine answers.
    """
    client = client or engine_client()
    label_filter = [f"{LABEL_MANAGED}=true"]
    if run_id is not None:
        label_filter.append(f"{LABEL_RUN_ID}={run_id}")

    def wanted(labels: dict[str, str] | None) -> bool:
        return run_id is not None or include_live or not owner_is_alive(labels or {})

    listed = client.api.containers(all=True, filters={"label": label_filter})
    doomed = [container for container in listed if wanted(container.get("Labels"))]
    removed = [f"container {_container_name(container)}" for container in doomed]
    if not dry_run:
        _remove_containers(client, doomed)
    for network in client.networks.list(filters={"label": label_filter}):
        if wanted(network.attrs.get("Labels")) and dry_run:
            removed.append(f"network {network.name}")
        elif wanted(network.attrs.get("Labels")):
            try:
                network.remove()
                removed.append(f"network {network.name}")
            except NotFound:
                pass
            except APIError as exc:
                # Still in use by a container that is not ours to remove: leave it, say why.
                removed.append(f"network {network.name} NOT removed: {exc.explanation}")
    for volume in client.volumes.list(filters={"label": label_filter}):
        if wanted(volume.attrs.get("Labels")) and dry_run:
            removed.append(f"volume {volume.name}")
        elif wanted(volume.attrs.get("Labels")):
            try:
                volume.remove(force=True)
                removed.append(f"volume {volume.name}")
            except NotFound:
                pass
            except APIError as exc:
                removed.append(f"volume {volume.name} NOT removed: {exc.explanation}")
    return removed


def _remove_containers(client: docker.DockerClient, doomed: list[dict]) -> None:
    """Force-remove in parallel (each removal waits for a kill: a reaper after ``kill -9`` must be
    quick); network holders last, as the containers in their namespace go first."""

    def remove(container: dict) -> None:
        try:
            client.api.remove_container(container["Id"], force=True, v=True)
        except NotFound:
            pass  # gone meanwhile: what we wanted

    holders = [c for c in doomed if (c.get("Labels") or {}).get(LABEL_ROLE) == HOLDER_ROLE]
    for batch in ([c for c in doomed if c not in holders], holders):
        if batch:
            with ThreadPoolExecutor(max_workers=min(len(batch), 8)) as pool:
                list(pool.map(remove, batch))


def labelled_leftovers(run_id: str, client: docker.DockerClient | None = None) -> list[str]:
    """Containers, networks and volumes still carrying ``run_id``'s label (for checks and tests)."""
    client = client or engine_client()
    label_filter = [f"{LABEL_MANAGED}=true", f"{LABEL_RUN_ID}={run_id}"]
    found = [
        f"container {_container_name(c)}"
        for c in client.api.containers(all=True, filters={"label": label_filter})
    ]
    found += [f"network {n.name}" for n in client.networks.list(filters={"label": label_filter})]
    found += [f"volume {v.name}" for v in client.volumes.list(filters={"label": label_filter})]
    return found


def _container_name(listed: dict) -> str:
    names = listed.get("Names") or [listed.get("Id", "?")[:12]]
    return str(names[0]).lstrip("/")
