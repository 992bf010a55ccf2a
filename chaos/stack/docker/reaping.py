"""Removing what docker stacks left behind, found by label (there is no Ryuk container here)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import docker
from docker.errors import APIError, NotFound

from chaos.stack._waiting import poll_until
from chaos.stack.docker.engine import engine_client
from chaos.stack.docker.labels import (
    LABEL_MANAGED,
    LABEL_ROLE,
    LABEL_RUN_ID,
    created_within,
    owner_is_alive,
)

#: The role of the container whose network namespace Redis joins (redis_container.py).
HOLDER_ROLE = "redis-net"
#: How an entry of ``reap_docker``'s answer says a thing is still there (``not_removed``).
NOT_REMOVED = " NOT removed: "
#: How long a removal someone else has in progress (the engine's 409) is waited for: a forced
#: removal kills and deletes in well under a second here (0.68 s for a whole stack, measured);
#: 15 s allows a loaded engine.
OTHERS_REMOVAL_WAIT = 15.0
#: A stack's start leaves a dead owner's parts younger than this: the owner's watchdog reaps them
#: within a second of the kill, and ``chaos clean`` at any time. Without it every stack starting
#: on the engine (another xdist worker, the library beside the tests) raced the watchdog and any
#: test looking at a killed run's parts; an owner killed with its watchdog waits a minute more.
STARTUP_REAP_MIN_AGE = 60.0


def reap_docker(
    run_id: str | None = None,
    *,
    include_live: bool = False,
    client: docker.DockerClient | None = None,
    dry_run: bool = False,
    min_age: float = 0.0,
) -> list[str]:
    """Remove labelled containers, then networks, then volumes; return what was removed.

    With ``run_id``: everything of that run, owned or not. Without: what belongs to runs whose
    owner process is dead (a runner killed with ``kill -9``), or everything labelled with
    ``include_live``; ``min_age`` leaves a dead owner's parts labelled less than that many
    seconds ago. ``dry_run``: remove nothing, return what would go. Raises StackError when no
    engine answers.
    """
    client = client or engine_client()
    label_filter = [f"{LABEL_MANAGED}=true"]
    if run_id is not None:
        label_filter.append(f"{LABEL_RUN_ID}={run_id}")

    def wanted(labels: dict[str, str] | None) -> bool:
        if run_id is not None or include_live:
            return True
        return not owner_is_alive(labels or {}) and not created_within(labels or {}, min_age)

    listed = client.api.containers(all=True, filters={"label": label_filter})
    doomed = [container for container in listed if wanted(container.get("Labels"))]
    if dry_run:
        removed = [f"container {_container_name(container)}" for container in doomed]
    else:
        removed = _remove_containers(client, doomed)
    for network in client.networks.list(filters={"label": label_filter}):
        if wanted(network.attrs.get("Labels")) and dry_run:
            removed.append(f"network {network.name}")
        elif wanted(network.attrs.get("Labels")):
            removed += _remove_one(
                f"network {network.name}", network.remove,
                lambda: client.api.inspect_network(network.id),
            )  # fmt: skip
    for volume in client.volumes.list(filters={"label": label_filter}):
        if wanted(volume.attrs.get("Labels")) and dry_run:
            removed.append(f"volume {volume.name}")
        elif wanted(volume.attrs.get("Labels")):
            removed += _remove_one(
                f"volume {volume.name}", lambda: volume.remove(force=True),
                lambda: client.api.inspect_volume(volume.name),
            )  # fmt: skip
    return removed


def not_removed(entries: list[str]) -> list[str]:
    """The entries of ``reap_docker``'s answer that are still there (with the engine's reason)."""
    return [entry for entry in entries if NOT_REMOVED in entry]


def _remove_one(
    what: str, remove: Callable[[], object], inspect: Callable[[], object]
) -> list[str]:
    """Remove one object; ``[what]`` once it is gone, ``[what NOT removed: why]`` if it stays.

    Several reapers meet on one object (the run's watchdog, another runner's start, ``chaos
    clean``, an xdist worker's stack): the engine answers the second one 409 ("removal already
    in progress") or an error of the moment, so an error counts only if the object is still
    there once the other removal had time to end.
    """
    try:
        remove()
        return [what]
    except NotFound:
        return [what]  # gone meanwhile: what we wanted
    except APIError as exc:
        reason = exc.explanation or str(exc)

    def gone() -> bool:
        try:
            inspect()
        except NotFound:
            return True
        except APIError:
            return False  # the engine could not say: not known to be gone
        return False

    # A 409 is someone else's removal: wait for it. Anything else (a network still in use by a
    # container that is not ours) is looked at once.
    wait = OTHERS_REMOVAL_WAIT if "in progress" in str(reason) else 0.0
    if poll_until(gone, wait, max_interval=0.1):  # a wait of 0: one look
        return [what]
    return [f"{what}{NOT_REMOVED}{reason}"]


def _remove_containers(client: docker.DockerClient, doomed: list[dict]) -> list[str]:
    """Force-remove in parallel (each removal waits for a kill: a reaper after ``kill -9`` must be
    quick); network holders last, as the containers in their namespace go first."""

    def remove(container: dict) -> list[str]:
        return _remove_one(
            f"container {_container_name(container)}",
            lambda: client.api.remove_container(container["Id"], force=True, v=True),
            lambda: client.api.inspect_container(container["Id"]),
        )

    holders = [c for c in doomed if (c.get("Labels") or {}).get(LABEL_ROLE) == HOLDER_ROLE]
    removed: list[str] = []
    for batch in ([c for c in doomed if c not in holders], holders):
        if batch:
            with ThreadPoolExecutor(max_workers=min(len(batch), 8)) as pool:
                removed += [entry for entries in pool.map(remove, batch) for entry in entries]
    return removed


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
