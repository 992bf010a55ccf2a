"""Root pytest wiring.

Django's settings module and ``app/`` on ``sys.path`` come from ``[tool.pytest.ini_options]`` in
pyproject.toml (pytest-django reads ``DJANGO_SETTINGS_MODULE`` there); the chaos plugin (fixtures
``chaos_stack``, ``broker``, ``proxy``, ``workers``, ``journal``, option ``--chaos-backend``) is
registered through its ``pytest11`` entry point, so a user's project gets it the same way. Here
only: ``--docker-last``, which ``scripts/test`` passes while it builds the docker images beside.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--docker-last",
        action="store_true",
        help="run the tests marked docker after the others (scripts/test builds the images "
        "meanwhile)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--docker-last"):
        items.sort(key=lambda item: item.get_closest_marker("docker") is not None)  # stable
