"""The app's world on the docker backend: the run's database, ``app.setup``, and their route into
the worker containers, so that a scenario's ``app.env``/``app.database``/``app.setup`` mean on
docker what they mean on the local backend.

The migration and the set-up commands run on the host, as on the local backend, on the run's
database file in the run directory; the stack then puts that file into the run's app-data volume
on the engine (``app_volume``), which the workers and the producer container mount. Only the
route differs: the containers get the database's path in the volume, through
the app's own variable (``app.database.env``) or through the suite's settings wrapper, whose text
the launcher writes into a folder it puts on ``sys.path`` (``ENV_SETTINGS_WRAPPER``), so that no
image's ``PYTHONPATH`` has to be known or overridden and no host file is mounted for it.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from chaos.journal import ENV_RUN_DIR, ENV_RUN_ID
from chaos.probe import ENV_WORKER_NAME
from chaos.stack._app_setup import run_setup
from chaos.stack._django_db import database_env, database_for_run, settings_wrapper
from chaos.stack.base import StackConfig
from chaos.stack.docker.app_volume import DATABASE_IN_CONTAINER
from chaos.stack.launch import ENV_BROKER_WAIT, ENV_CELERY_SETTINGS, ENV_SETTINGS_WRAPPER

#: Both backends give the app the run's database under this name in the run directory.
RUN_DATABASE_FILE = "db.sqlite3"
#: Variables of an enclosing run (or of the shell) that must not reach this run's set-up.
_NOT_INHERITED = (ENV_RUN_DIR, ENV_RUN_ID, ENV_WORKER_NAME, ENV_CELERY_SETTINGS, ENV_BROKER_WAIT,
                  "DJANGO_SETTINGS_MODULE", "CELERY_BROKER_URL")  # fmt: skip


def host_env(config: StackConfig, run_dir: Path, run_id: str) -> dict[str, str]:
    """The app's environment on the host (migration, set-up): this process's, the app's own
    ``env``, the app on ``PYTHONPATH``; the run's database is added once it exists."""
    env = {key: value for key, value in os.environ.items() if key not in _NOT_INHERITED}
    env.update({ENV_RUN_DIR: str(run_dir), ENV_RUN_ID: run_id})
    workdir = str(Path(config.workdir).resolve())
    env["PYTHONPATH"] = os.pathsep.join([workdir, *filter(None, [env.get("PYTHONPATH")])])
    if config.settings_module:
        env["DJANGO_SETTINGS_MODULE"] = config.settings_module
    env.update(config.env)
    return env


def prepare_app_world(config: StackConfig, run_dir: Path, run_id: str,
                      steps: dict[str, float]) -> None:  # fmt: skip
    """Migrate the run's database, then run ``app.setup`` on it; before any worker starts.

    StackError (exit 3) when either fails, naming the command and its output's tail."""
    env = host_env(config, run_dir, run_id)
    if config.settings_module:
        mark = time.monotonic()
        database = database_for_run(Path(config.workdir), config.settings_module, run_dir, env,
                                    via_env=config.database_env)  # fmt: skip
        env.update(database_env(config.settings_module, database, env,
                                via_env=config.database_env))  # fmt: skip
        steps["django_db"] = time.monotonic() - mark
    if config.setup:
        mark = time.monotonic()
        (run_dir / "logs").mkdir(parents=True, exist_ok=True)
        run_setup(config.setup, Path(config.workdir), env, run_dir / "logs" / "setup.log")
        steps["setup"] = time.monotonic() - mark


def app_world_env(config: StackConfig) -> dict[str, str]:
    """The environment that points a container (a worker, the producer) at the run's database
    (empty for an app without Django settings). The suite's settings wrapper travels in it as
    text, which the launcher and the workload write into a folder of the container
    (``chaos.stack.launch``): no file of this machine is mounted for it."""
    if not config.settings_module:
        return {}
    database = Path(DATABASE_IN_CONTAINER)
    env = database_env(config.settings_module, database, {}, via_env=config.database_env)
    env.pop("PYTHONPATH", None)  # the host's folder: the wrapper is written in the container
    if config.database_env:
        return env
    name, folder = settings_wrapper(config.settings_module)
    text = (folder / f"{name}.py").read_text(encoding="utf-8")
    env[ENV_SETTINGS_WRAPPER] = json.dumps({"module": name, "text": text})
    return env
