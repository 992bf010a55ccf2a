"""Settings of the billing project. Everything that differs between machines comes from the
environment, with names of this project's own (nothing here reads the suite's variables):

- ``BILLING_DB_PATH``: the SQLite file (default ``billing-dev.sqlite3`` beside manage.py);
- ``BILLING_BROKER_URL`` and ``BILLING_RESULT_URL``: Redis for messages and for results;
- ``BILLING_GATEWAY_FAILURES``: a fault switch, the payment gateway refuses the first N attempts
  of every charge (0 by default);
- ``BILLING_SETTLE_AFTER``: seconds after a charge before the gateway reports it settled.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("BILLING_SECRET_KEY", "billing-insecure-test-key")
DEBUG = False
# Not "testserver": a client must say which host it calls.
ALLOWED_HOSTS = ["billing.internal"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "billing",
]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "config.urls"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("BILLING_DB_PATH", str(BASE_DIR / "billing-dev.sqlite3")),
        "OPTIONS": {"timeout": 20},
    }
}
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CELERY_BROKER_URL = os.environ.get("BILLING_BROKER_URL", "redis://localhost:6379/5")
CELERY_RESULT_BACKEND = os.environ.get("BILLING_RESULT_URL", "redis://localhost:6379/6")
CELERY_TASK_DEFAULT_QUEUE = "billing"
CELERY_TASK_SERIALIZER = "json"

GATEWAY_FAILURES = int(os.environ.get("BILLING_GATEWAY_FAILURES", "0"))
SETTLE_AFTER_SECONDS = float(os.environ.get("BILLING_SETTLE_AFTER", "0.5"))
