"""A real stack running the reference app, and the pytest process as its producer.

The Django test client in this process is the web tier: it writes to the run's SQLite database
(the same file the workers write their results to) and publishes through the stack's proxy.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connections
from django.test import Client

from chaos.celery_compat import update_conf
from chaos.stack import StackConfig, open_stack
from chaos.stack.base import Stack
from chaos.stubs import StubEndpoint


def point_celery_app_at(broker_url: str) -> None:
    """Make the project's Celery app (the producer in this process) publish to ``broker_url``."""
    from myproject import celery_app

    # @shared_task tasks publish through the *current* app; another app imported earlier in the
    # session (a plain test app) would otherwise take their messages to its own broker.
    celery_app.set_current()
    celery_app.set_default()
    update_conf(celery_app, {"broker_url": broker_url})  # celery <= 5.6: see celery_compat
    celery_app.close()  # drop pooled connections to an earlier stack's proxy
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def use_database(path: Path | str) -> str:
    """Point Django's default connection at ``path``; returns the previous name."""
    connection = connections["default"]
    connection.close()
    previous = connection.settings_dict["NAME"]
    connection.settings_dict["NAME"] = str(path)
    return previous


@pytest.fixture(scope="module")
def carrier() -> Iterator[StubEndpoint]:
    """The carrier the shop books pickups with: fails by plan per order (see each test)."""
    with StubEndpoint(fail_first={}, key_field="order_id") as stub:
        yield stub


@pytest.fixture(scope="module")
def shop_stack(tmp_path_factory: pytest.TempPathFactory, carrier: StubEndpoint) -> Iterator[Stack]:
    config = StackConfig(
        run_dir=tmp_path_factory.mktemp("shop-run"),
        env={"CARRIER_URL": carrier.url},
    )
    with open_stack(config) as stack:
        yield stack


@pytest.fixture
def shop(shop_stack: Stack, django_db_blocker) -> Iterator[Stack]:
    """The stack, with this process's Django and Celery pointed at it."""
    with django_db_blocker.unblock():
        previous = use_database(shop_stack.run_dir / "db.sqlite3")
        point_celery_app_at(shop_stack.producer_broker_url)
        try:
            yield shop_stack
        finally:
            use_database(previous)


@pytest.fixture
def client() -> Client:
    # The naive view raises during an outage; the test wants the response a user would get.
    return Client(raise_request_exception=False)
