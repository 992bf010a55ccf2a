"""nox sessions: the scenario library under each supported celery/kombu version set.

For teams that use nox (``pip install nox``; ``nox -l`` lists the sessions). Each session
installs the project with one version set and runs ``chaos run`` on the scenarios given after
``--`` (default: a short smoke set). ``chaos matrix`` does the same with cached venvs and
compares the sets' verdicts; these sessions only run them.

    nox -s "scenarios(celery==5.6.2 kombu==5.6.2)" -- scenarios/proxy-down.yaml
"""

from __future__ import annotations

import nox

#: The supported range's corners: oldest supported, the last before 5.7, the locked versions.
VERSION_SETS = (
    "celery==5.3.6 kombu==5.3.7",
    "celery==5.6.2 kombu==5.6.2",
    "celery==5.7.0 kombu==5.7.0",
)
SMOKE_SCENARIOS = ("scenarios/proxy-down.yaml", "scenarios/broker-restart-during-orders.yaml")

nox.options.default_venv_backend = "uv|virtualenv"


@nox.session(python="3.11")
@nox.parametrize("versions", VERSION_SETS, ids=list(VERSION_SETS))
def scenarios(session: nox.Session, versions: str) -> None:
    session.install("-e", ".", *versions.split())
    session.run("python", "-m", "chaos", "run", *(session.posargs or SMOKE_SCENARIOS),
                "--no-picture", env={"CHAOS_SKIP_DOCKER_SETUP": "1"})  # fmt: skip


@nox.session(python="3.11")
@nox.parametrize("versions", VERSION_SETS, ids=list(VERSION_SETS))
def compat(session: nox.Session, versions: str) -> None:
    """The version-sensitive unit tests (no stack) under one version set."""
    session.install("-e", ".", "pytest-timeout", *versions.split())
    session.run("python", "-m", "pytest", "tests/versions", "-q", *session.posargs)
