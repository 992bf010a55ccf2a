"""A migrated SQLite database per run, cheaply: migrate once into a template, copy per run.

The reference app's result backend is django-db, so each run needs a migrated database. Migrating
costs about a second and a half; copying a template file costs milliseconds. The template is keyed
by a hash of everything that changes the schema (the app's migration and settings files, Django's
and django-celery-results' versions), built under a file lock so parallel stacks build it once.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from chaos.errors import StackError
from chaos.stack._state_dir import state_dir

ENV_DB_PATH = "DJANGO_DB_PATH"


def _schema_key(workdir: Path, settings_module: str) -> str:
    digest = hashlib.sha256(settings_module.encode())
    for package in ("django", "django-celery-results", "celery"):
        try:
            digest.update(f"{package}={metadata.version(package)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{package}=absent".encode())
    settings_file = workdir / (settings_module.replace(".", "/") + ".py")
    schema_files = sorted(workdir.glob("**/migrations/*.py"))
    for path in [settings_file, *schema_files]:
        if path.is_file() and ".venv" not in path.parts:
            digest.update(str(path.relative_to(workdir)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:20]


def template_database(workdir: Path, settings_module: str, env: dict[str, str]) -> Path:
    """The migrated template for this schema, built now if missing."""
    directory = state_dir() / "django-db"
    directory.mkdir(parents=True, exist_ok=True)
    template = directory / f"{_schema_key(workdir, settings_module)}.sqlite3"
    if template.exists():
        return template
    with (directory / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if template.exists():
            return template
        staging = directory / f".{template.name}.{os.getpid()}.tmp"
        staging.unlink(missing_ok=True)
        migrate_env = {**env, ENV_DB_PATH: str(staging), "DJANGO_SETTINGS_MODULE": settings_module}
        migrate_env["PYTHONPATH"] = os.pathsep.join(
            [str(workdir), *filter(None, [env.get("PYTHONPATH")])]
        )
        result = subprocess.run(
            [sys.executable, "-m", "django", "migrate", "--noinput", "-v", "0"],
            cwd=workdir,
            env=migrate_env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            staging.unlink(missing_ok=True)
            raise StackError(
                "django-db",
                f"'django migrate' failed for {settings_module} in {workdir}",
                log_tail="\n".join((result.stdout + result.stderr).splitlines()[-40:]),
                hint="does the app import, and does its settings read DJANGO_DB_PATH?",
            )
        os.replace(staging, template)
    return template


def database_for_run(workdir: Path, settings_module: str, run_dir: Path, env: dict[str, str]) -> Path:
    """A fresh migrated database file in the run directory."""
    target = run_dir / "db.sqlite3"
    shutil.copyfile(template_database(workdir, settings_module, env), target)
    return target
