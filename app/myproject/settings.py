"""Settings of the reference project: the seed's steps 2 to 4 plus its optional results section.

Everything a run changes comes from the environment, so that the resilience suite can point the
producer and the workers at its proxy and give each run its own database:

- ``CELERY_BROKER_URL`` (default ``redis://localhost:6379/0``, the seed's value);
- ``DJANGO_DB_PATH``: the SQLite file (default ``app/db.sqlite3``);
- ``CARRIER_URL`` and ``WAREHOUSE_URL``: the endpoints the shop's tasks call.
"""

import os
from pathlib import Path

import django

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get(
    "DJANGO_SECRET_KEY", "django-insecure-reference-app-for-the-resilience-suite"
)
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_results",
    "shop",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "myproject.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "myproject.wsgi.application"

# SQLite by default, one file per run when DJANGO_DB_PATH is set. The web process, the outbox relay
# and every worker write to it, so waits for the write lock are allowed to last.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DJANGO_DB_PATH", str(BASE_DIR / "db.sqlite3")),
        "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
    }
}
if django.VERSION < (5, 1):  # no transaction_mode before 5.1: a backend that begins IMMEDIATE
    del DATABASES["default"]["OPTIONS"]["transaction_mode"]
    DATABASES["default"]["ENGINE"] = "myproject.sqlite_immediate"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "fr-fr"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Step 4 of the seed: the broker. Overridable so that the suite can put its proxy in front of Redis.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://localhost:6379/0")

# The seed's optional section: results in the database, visible in the admin.
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True

# Endpoints the shop's tasks call. Nothing listens there by default, so a task run without a
# carrier or a warehouse fails and retries as declared, which is what the suite exercises.
CARRIER_URL = os.environ.get("CARRIER_URL", "http://127.0.0.1:8025/pickups")
WAREHOUSE_URL = os.environ.get("WAREHOUSE_URL", "http://127.0.0.1:8026/notifications")
ENDPOINT_TIMEOUT_SECONDS = float(os.environ.get("ENDPOINT_TIMEOUT_SECONDS", "5"))
