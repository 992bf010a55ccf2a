"""``CeleryWorkerContainer``: one ``celery worker`` of the app, started by the project's launcher.

The container shares no file with the runner for the run itself: the probe and the failpoints
reach the journal and the armed plans through the runner's run service (``chaos.run_channel``,
``CHAOS_RUN_SERVICE``), so the engine may be another machine. ``CHAOS_RUN_DIR`` still names
``RUN_DIR_IN_CONTAINER`` (it says "in a run"), a folder no file of the run is written to. An
app with a database gets the run's app-data volume (``app_volume``), a named volume on the
engine, never a folder of the runner's machine.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from chaos.journal import ENV_RUN_DIR, ENV_RUN_ID
from chaos.run_channel import ENV_RUN_SERVICE
from chaos.stack.docker.app_volume import APP_DATA_IN_CONTAINER
from chaos.stack.docker.container import ChaosContainer
from chaos.stack.shape import WorkerShape

RUN_DIR_IN_CONTAINER = "/chaos-run"
APP_DIR_IN_CONTAINER = "/app"


class CeleryWorkerContainer(ChaosContainer):
    """``python -m chaos.stack.launch APP`` with Celery's worker options, one node per container."""

    role = "worker"

    def __init__(self, image: str, *, app: str, hostname: str, **kwargs: Any) -> None:
        super().__init__(image, **kwargs)
        self.app = app
        self.hostname = hostname
        self.shape = WorkerShape(pool="solo", mingle=False, gossip=False, heartbeat=False)
        self.command_prefix: list[str] = []
        # docker-init (tini) as PID 1 forwards SIGTERM to the worker and reaps prefork children.
        self._kwargs["init"] = True
        self._kwargs["working_dir"] = APP_DIR_IN_CONTAINER
        if hasattr(os, "getuid"):
            self._kwargs["user"] = f"{os.getuid()}:{os.getgid()}"

    def with_run_service(self, run_id: str, address: str) -> CeleryWorkerContainer:
        """Take part in the run through the runner's run service at ``address`` (host:port)."""
        self.with_run(run_id)
        self.with_envs(**{ENV_RUN_DIR: RUN_DIR_IN_CONTAINER, ENV_RUN_ID: run_id,
                          ENV_RUN_SERVICE: address})  # fmt: skip
        return self

    def with_app_data(self, volume: str) -> CeleryWorkerContainer:
        """Mount the run's app-data volume (the app's SQLite database, shared with the producer
        container and the other workers on the engine; see ``app_volume``)."""
        self.volumes[volume] = {"bind": APP_DATA_IN_CONTAINER, "mode": "rw"}
        return self

    def with_command_prefix(self, prefix: list[str]) -> CeleryWorkerContainer:
        """What starts the launcher (``python -m chaos.clockrecord`` on a dilated clock)."""
        self.command_prefix = list(prefix)
        return self

    def with_pool(self, pool: str, concurrency: int = 1) -> CeleryWorkerContainer:
        self.shape = replace(self.shape, pool=pool, concurrency=concurrency)
        return self

    def with_shape(self, shape: WorkerShape) -> CeleryWorkerContainer:
        """Pool, concurrency, queues and Celery's optional steps, as ``chaos.stack.shape`` says."""
        self.shape = shape
        return self

    def with_celery_settings(self, settings: Mapping[str, Any]) -> CeleryWorkerContainer:
        """Celery settings the launcher applies before the app is finalized."""
        from chaos.stack.launch import ENV_CELERY_SETTINGS

        self.with_env(ENV_CELERY_SETTINGS, json.dumps(dict(settings)))
        return self

    def _configure(self) -> None:
        from chaos.stack.launch import launcher_argv

        self.with_command(
            [*self.command_prefix,
             *launcher_argv("python", self.app, hostname=self.hostname, shape=self.shape)]
        )  # fmt: skip
