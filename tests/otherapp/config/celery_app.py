"""The billing project's Celery app: ``celery -A config.celery_app`` (not a ``celery.py`` module)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("billing_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["billing"])
