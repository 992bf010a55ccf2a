"""The producer of an app with a database, in a container on the stack's network.

The workload writes the orders (and the outbox) that the workers read, in the app's SQLite
database; that database lives in the run's volume on the engine (``app_volume``), so the producer
runs there too, from the worker image, as a worker would: the same app, the same environment
(``app.env`` relayed, the run's database, the suite's settings wrapper as text), the broker
through the proxy's alias, its journal through the run service, on the run's clock (dilated as
the workers' when the scenario says so). The runner talks to it through Docker's attach stream
(``attached.AttachedContainer``) exactly as to a local workload process.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from chaos.stack.docker.attached import AttachedContainer
from chaos.stack.docker.labels import run_labels
from chaos.stack.docker.worker_container import APP_DIR_IN_CONTAINER


def start_producer(client: Any, *, image: str, run_id: str, network: str,
                   volumes: dict[str, dict[str, str]], command: list[str],
                   env: dict[str, str], log_path: Path) -> AttachedContainer:  # fmt: skip
    """Create ``chaos-RUN-producer`` and start it attached; its stderr goes to ``log_path``."""
    user = f"{os.getuid()}:{os.getgid()}" if hasattr(os, "getuid") else None
    container = client.containers.create(
        image, command=command, name=f"chaos-{run_id}-producer", environment=env,
        labels=run_labels(run_id, "producer"), network=network, volumes=volumes,
        stdin_open=True, init=True, working_dir=APP_DIR_IN_CONTAINER, user=user,
        privileged=False,
    )  # fmt: skip
    return AttachedContainer(container, log_path)
