"""The app's SQLite database on the engine: a labelled named volume, no bind mount.

The runner migrates the run's database and runs ``app.setup`` on this machine, as the local
backend does; the file then travels to the engine once, through the Docker API (``put_archive``
into a container that is created and never started, the volume's holder), and lives in a volume
that the worker containers and the producer container mount at ``APP_DATA_IN_CONTAINER``: one
database, written by all of them, on the engine's file system, so the engine may be another
machine. It comes back the same way (``get_archive``) into ``RUN_DIR/db.sqlite3``, before the
runner reads the stored results and again when the stack closes, so that the run directory
keeps the database as on the local backend.

The folder in the volume is world-writable: the archive's files belong to root in the volume
and the containers run as this machine's user, whom SQLite needs to create its journal beside
the database.
"""

from __future__ import annotations

import io
import tarfile
import time
from pathlib import Path
from typing import Any

from chaos.errors import StackError
from chaos.stack.docker.labels import run_labels

#: Where the volume is mounted in the worker and producer containers.
APP_DATA_IN_CONTAINER = "/chaos-data"
#: The folder in the volume that holds the database (and SQLite's journal beside it).
DATABASE_FOLDER = "database"
DATABASE_FILE = "db.sqlite3"
#: The database's path in a container.
DATABASE_IN_CONTAINER = f"{APP_DATA_IN_CONTAINER}/{DATABASE_FOLDER}/{DATABASE_FILE}"


def _archive(database: Path) -> bytes:
    """A tar of the database folder: the folder writable by every user, the file too."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        folder = tarfile.TarInfo(DATABASE_FOLDER)
        folder.type, folder.mode, folder.mtime = tarfile.DIRTYPE, 0o777, int(time.time())
        tar.addfile(folder)
        data = database.read_bytes()
        member = tarfile.TarInfo(f"{DATABASE_FOLDER}/{DATABASE_FILE}")
        member.size, member.mode, member.mtime = len(data), 0o666, int(time.time())
        tar.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


class AppDataVolume:
    """The run's ``chaos-RUN-app`` volume and the stopped container that reaches it."""

    def __init__(self, client: Any, run_id: str, image: str) -> None:
        self.name = f"chaos-{run_id}-app"
        self.uploaded = False
        self.volume = client.volumes.create(name=self.name, labels=run_labels(run_id, "volume"))
        # Created, never started: the Docker API reads and writes a volume through a container.
        self._holder = client.containers.create(
            image, command=["true"], name=f"chaos-{run_id}-app-data",
            labels=run_labels(run_id, "app-data"), network_disabled=True,
            volumes=self.mount(),
        )  # fmt: skip

    def mount(self) -> dict[str, dict[str, str]]:
        """The ``volumes`` argument that mounts it in a container (a named volume)."""
        return {self.name: {"bind": APP_DATA_IN_CONTAINER, "mode": "rw"}}

    def upload(self, database: Path) -> None:
        """Put the migrated, set-up database into the volume, before any container uses it."""
        if not self._holder.put_archive(APP_DATA_IN_CONTAINER, _archive(database)):
            raise StackError("app-data", f"the engine refused the database {database}")
        self.uploaded = True

    def fetch(self, target: Path) -> Path:
        """Copy the database as the containers left it to ``target`` (replacing it), with
        SQLite's journal beside it when one is left (a hot journal rolls back on open)."""
        chunks, _ = self._holder.get_archive(f"{APP_DATA_IN_CONTAINER}/{DATABASE_FOLDER}")
        fetched: dict[str, bytes] = {}
        with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tar:
            for member in tar.getmembers():
                name = Path(member.name).name
                source = tar.extractfile(member) if member.isfile() else None
                if source is not None and name.startswith(DATABASE_FILE):
                    fetched[name[len(DATABASE_FILE):]] = source.read()  # "", "-journal", ...
        if "" not in fetched:
            raise StackError("app-data", f"the volume {self.name} holds no {DATABASE_FILE}")
        for suffix in ("-journal", "-wal", "-shm"):  # a journal from an earlier fetch is stale
            if suffix not in fetched:
                target.with_name(target.name + suffix).unlink(missing_ok=True)
        for suffix, data in fetched.items():
            staging = target.with_name(f".{target.name}{suffix}.part")
            staging.write_bytes(data)
            staging.replace(target.with_name(target.name + suffix))
        return target
