"""A migrated SQLite database per run, cheaply: migrate once into a template, copy per run.

A Django app under test needs a migrated database of its own for each run. Migrating costs about a
second and a half; copying a template file costs milliseconds. The template is keyed by a hash of
everything that changes the schema (the app's migration and settings files, Django's and
django-celery-results' versions), built under a file lock so parallel stacks build it once.

How the run's database reaches the app (``database_env``): through an environment variable its
settings read, or (the default) through a settings module of the suite's that imports the app's
and overrides the SQLite ``NAME``. Either way the migration runs in ``chaos.stack._migrate``, which
refuses to migrate a database other than the run's: the project's own development database is
never touched.
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

#: What the reference app's settings read; set on every route (harmless for other apps).
ENV_DB_PATH = "DJANGO_DB_PATH"
#: The run's database path, read by the suite's settings wrapper and by ``_migrate``'s check.
ENV_RUN_DATABASE = "CHAOS_RUN_DATABASE"
ENV_DB_ALIAS = "CHAOS_RUN_DATABASE_ALIAS"

_WRAPPER = '''"""Written by the chaos suite: {settings}, with the run's own SQLite database."""
import os

from {settings} import *  # noqa: F403

DATABASES = {{alias: dict(entry) for alias, entry in DATABASES.items()}}  # noqa: F405
DATABASES[os.environ.get("{alias_env}", "default")]["NAME"] = os.environ["{db_env}"]
'''


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


def settings_wrapper(settings_module: str) -> tuple[str, Path]:
    """The suite's settings module over ``settings_module`` (written once): its name and folder."""
    name = "chaos_run_settings_" + hashlib.sha256(settings_module.encode()).hexdigest()[:12]
    directory = state_dir() / "django-settings"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.py"
    text = _WRAPPER.format(settings=settings_module, alias_env=ENV_DB_ALIAS, db_env=ENV_RUN_DATABASE)
    if not path.exists() or path.read_text() != text:
        staging = path.with_suffix(f".{os.getpid()}.tmp")
        staging.write_text(text)
        os.replace(staging, path)
    return name, directory


def database_env(settings_module: str, db_path: Path, base_env: dict[str, str], *,
                 via_env: str | None = None, alias: str = "default") -> dict[str, str]:  # fmt: skip
    """The variables that point the app's processes at ``db_path`` (merged over ``base_env``'s
    ``PYTHONPATH``): ``via_env`` names the app's own variable; without it, the settings wrapper."""
    env = {ENV_DB_PATH: str(db_path), ENV_RUN_DATABASE: str(db_path), ENV_DB_ALIAS: alias,
           "DJANGO_SETTINGS_MODULE": settings_module}  # fmt: skip
    if via_env:
        env[via_env] = str(db_path)
        return env
    wrapper, directory = settings_wrapper(settings_module)
    env["DJANGO_SETTINGS_MODULE"] = wrapper
    env["PYTHONPATH"] = os.pathsep.join([str(directory), *filter(None, [base_env.get("PYTHONPATH")])])
    return env


def template_database(workdir: Path, settings_module: str, env: dict[str, str], *,
                      via_env: str | None = None, alias: str = "default") -> Path:  # fmt: skip
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
        migrate_env = {**env, "PYTHONPATH": os.pathsep.join(
            [str(workdir), *filter(None, [env.get("PYTHONPATH")])])}  # fmt: skip
        migrate_env.update(database_env(settings_module, staging, migrate_env,
                                        via_env=via_env, alias=alias))  # fmt: skip
        result = subprocess.run(
            [sys.executable, "-m", "chaos.stack._migrate"],
            cwd=workdir, env=migrate_env, capture_output=True, text=True, timeout=120,
            check=False,
        )  # fmt: skip
        if result.returncode != 0 or not staging.is_file():
            staging.unlink(missing_ok=True)
            how = f"${via_env}" if via_env else f"DATABASES[{alias!r}]['NAME'] overridden"
            raise StackError(
                "django-db",
                f"migrating the run's database failed for {settings_module} in {workdir} "
                f"(the database reaches the app by {how})",
                log_tail="\n".join((result.stdout + result.stderr).splitlines()[-40:]),
                hint="does the app import? with app.database.env, do its settings read that "
                "variable for the SQLite NAME?",
            )
        os.replace(staging, template)
    return template


def database_for_run(workdir: Path, settings_module: str, run_dir: Path, env: dict[str, str], *,
                     via_env: str | None = None, alias: str = "default") -> Path:  # fmt: skip
    """A fresh migrated database file in the run directory."""
    target = run_dir / "db.sqlite3"
    template = template_database(workdir, settings_module, env, via_env=via_env, alias=alias)
    try:
        shutil.copyfile(template, target)
    except FileNotFoundError:
        raise StackError("django-db", f"the migrated template {template} is gone (removed while "
                         "the run started?)", hint="run again; chaos clean removes templates "
                         "only between runs") from None  # fmt: skip
    return target
