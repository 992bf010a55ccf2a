"""celery_compat.update_conf: the stack's settings win over a namespaced app's own, on the
installed Celery (run it in a matrix venv to check another version)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from celery import Celery

from chaos.celery_compat import celery_version, update_conf

SETTINGS = SimpleNamespace(
    CELERY_BROKER_URL="redis://localhost:6379/0",
    CELERY_BROKER_TRANSPORT_OPTIONS={"visibility_timeout": 3600},
)


def namespaced_app() -> Celery:
    app = Celery("compat", set_as_current=False)
    app.config_from_object(SETTINGS, namespace="CELERY")
    return app


@pytest.mark.parametrize("finalized", [False, True], ids=["before-finalize", "after-finalize"])
def test_update_conf_wins_over_namespaced_settings(finalized: bool) -> None:
    app = namespaced_app()
    if finalized:
        app.finalize(auto=True)
        assert app.conf.broker_url == "redis://localhost:6379/0"
    update_conf(app, {"broker_url": "redis://127.0.0.1:7001/0",
                      "broker_transport_options": {"socket_timeout": 5.0}})  # fmt: skip
    assert app.conf.broker_url == "redis://127.0.0.1:7001/0"
    assert app.conf.broker_transport_options == {"socket_timeout": 5.0}


def test_update_conf_on_an_app_without_namespace() -> None:
    app = Celery("plain", set_as_current=False, broker="redis://localhost:6379/0")
    update_conf(app, {"broker_url": "redis://127.0.0.1:7002/0"})
    assert app.conf.broker_url == "redis://127.0.0.1:7002/0"
    assert "CELERY_BROKER_URL" not in app.conf.changes


def test_plain_conf_update_is_what_differs_between_versions() -> None:
    """The fact update_conf exists for: celery <= 5.6 keeps the namespaced setting."""
    app = namespaced_app()
    app.finalize(auto=True)
    app.conf.update(broker_url="redis://127.0.0.1:7003/0")
    expected = "redis://127.0.0.1:7003/0" if celery_version() >= (5, 7) else SETTINGS.CELERY_BROKER_URL
    assert app.conf.broker_url == expected
