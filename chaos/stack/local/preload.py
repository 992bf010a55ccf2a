"""What the worker fork server imports before any fork: Celery, kombu, redis-py and the parts of
Django that do not read settings at import. Each import is guarded: a module that fails here is
simply imported later, in the worker, as it would be anyway (the fork server must not die)."""

from __future__ import annotations

import importlib

MODULES = (
    "celery",
    "celery.app.base",
    "celery.app.trace",
    "celery.apps.worker",
    "celery.bootsteps",
    "celery.worker",
    "celery.worker.components",
    "celery.worker.consumer",
    "celery.worker.control",
    "celery.worker.pidbox",
    "celery.worker.request",
    "celery.worker.strategy",
    "celery.events",
    "celery.backends.base",
    "celery.concurrency.solo",
    "celery.concurrency.prefork",
    "celery.fixups.django",
    "billiard.pool",
    "kombu.transport.redis",
    "redis",
    "django",
    "django.db.models",
    "django.db.backends.sqlite3.base",
    "django.forms",
    "django.http",
    "django.template",
    "django.template.defaulttags",
    "django.urls",
    "django.core.handlers.wsgi",
    "chaos.probe",
    "chaos.stack.launch",
)

imported: list[str] = []
for _name in MODULES:
    try:
        importlib.import_module(_name)
    except Exception:  # noqa: BLE001, S112 - a preload is an optimisation, never a failure
        continue
    imported.append(_name)
