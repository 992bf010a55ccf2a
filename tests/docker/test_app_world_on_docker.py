"""The app's world on the docker backend: ``app.env``, ``app.database`` and ``app.setup`` reach
the worker containers as they reach the local backend's workers.

The second app (tests/otherapp) needs all three: its invoices exist only once ``setup`` seeded
them, its gateway refuses charges only through ``env``, and its settings read the database path
from ``BILLING_DB_PATH`` (``app.database.env``) or get it through the suite's settings wrapper.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from chaos.errors import StackError
from chaos.runner.run import run_scenario
from chaos.stack.base import StackConfig
from chaos.stack.docker import DockerStack
from chaos.stack.docker.reaping import labelled_leftovers

pytestmark = pytest.mark.docker

OTHERAPP = Path(__file__).resolve().parents[1] / "otherapp"


def _invoices(run_dir: Path) -> dict[int, tuple[str, int]]:
    with sqlite3.connect(run_dir / "db.sqlite3") as db:
        rows = db.execute("SELECT id, status, attempts FROM billing_invoice").fetchall()
    return {row[0]: (row[1], row[2]) for row in rows}


@pytest.mark.parametrize(
    ("name", "invoice", "expected"),
    [
        # env (2 refusals) + database by the app's own variable + setup: 3 attempts, charged.
        ("charge-retries", 1, ("charged", 3)),
        # env (settles after 0.5 s) + the settings wrapper (default route) + setup.
        ("chain-and-poll", 2, ("settled", 1)),
    ],
)
def test_env_database_and_setup_reach_the_worker_containers(
    name: str, invoice: int, expected: tuple[str, int], docker_images, tmp_path: Path
) -> None:
    result = run_scenario(OTHERAPP / "scenarios" / f"{name}.yaml", backend="docker",
                          out_dir=tmp_path, quiet=True)  # fmt: skip
    failed = [str(verdict) for verdict in result.verdicts if not getattr(verdict, "ok", True)]
    assert result.ok, f"{name} on docker: {failed}; run dir {result.run_dir}"
    setup_log = (result.run_dir / "logs" / "setup.log").read_text()
    assert "$ python manage.py seed_customers" in setup_log and "(exit 0)" in setup_log
    # The workers in their containers wrote to the run's own database, the file setup seeded.
    assert _invoices(result.run_dir)[invoice] == expected


def test_a_failing_setup_command_stops_the_docker_stack_naming_it(docker_images, tmp_path: Path):
    config = StackConfig(
        app="config.celery_app", workdir=OTHERAPP, settings_module="config.settings",
        database_env="BILLING_DB_PATH", setup=["python manage.py seed_customers --count nope"],
        run_dir=tmp_path / "run", start_timeout=60,
    )  # fmt: skip
    stack = DockerStack(config)
    with pytest.raises(StackError) as caught:
        with stack:
            pass  # pragma: no cover - the start fails
    assert caught.value.component == "setup"
    assert "seed_customers --count nope" in str(caught.value)
    assert "invalid int value" in caught.value.failure.log_tail
    assert labelled_leftovers(stack.run_id) == []
