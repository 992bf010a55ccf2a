"""Labels on every container, network and volume a docker stack creates.

They say which run a thing belongs to and which process owns that run, so that leftovers of a
crashed runner (``kill -9``) are found and removed by label, with no Ryuk container.
"""

from __future__ import annotations

import os
import socket
import time

import psutil

LABEL_MANAGED = "io.celery-chaos.managed"
LABEL_RUN_ID = "io.celery-chaos.run-id"
LABEL_ROLE = "io.celery-chaos.role"
LABEL_OWNER_HOST = "io.celery-chaos.owner-host"
LABEL_OWNER_PID = "io.celery-chaos.owner-pid"
LABEL_OWNER_STARTED = "io.celery-chaos.owner-started"
LABEL_CREATED = "io.celery-chaos.created"
LABEL_IMAGE_INPUTS = "io.celery-chaos.image-inputs"


def run_labels(run_id: str, role: str) -> dict[str, str]:
    """Labels for one resource of ``run_id``, owned by this process."""
    return {
        LABEL_MANAGED: "true",
        LABEL_RUN_ID: run_id,
        LABEL_ROLE: role,
        LABEL_OWNER_HOST: socket.gethostname(),
        LABEL_OWNER_PID: str(os.getpid()),
        LABEL_OWNER_STARTED: f"{psutil.Process().create_time():.2f}",
        LABEL_CREATED: f"{time.time():.2f}",
    }


def created_within(labels: dict[str, str], seconds: float) -> bool:
    """Whether a resource was labelled less than ``seconds`` ago (False when unlabelled)."""
    try:
        return time.time() - float(labels.get(LABEL_CREATED, "")) < seconds
    except ValueError:
        return False


def owner_is_alive(labels: dict[str, str]) -> bool:
    """Whether the process that created a resource still runs.

    A resource from another host (a shared remote engine) counts as alive: only its own host can
    tell, and reaping a colleague's live stack would be worse than leaving a leftover.
    """
    if labels.get(LABEL_OWNER_HOST) != socket.gethostname():
        return True
    try:
        pid = int(labels.get(LABEL_OWNER_PID, ""))
        started = float(labels.get(LABEL_OWNER_STARTED, ""))
    except ValueError:
        return False
    try:
        # The start time tells a reused pid from the owner itself.
        return abs(psutil.Process(pid).create_time() - started) < 0.05
    except psutil.Error:
        return False
