"""What differs between the Celery / kombu versions the toolkit supports (celery 5.3 to 5.7).

Every version difference the app-side parts (launcher, probe, producer, workload) meet is handled
here and nowhere else, so supporting one more version is one edit in one module.

Measured differences (celery 5.3.6 / kombu 5.3.7, 5.6.2 / 5.6.2 against 5.7.0 / 5.7.0):

- Configuration precedence. An app configured with
  ``config_from_object("django.conf:settings", namespace="CELERY")`` looks a setting up under its
  prefixed name (``CELERY_BROKER_URL``) and its plain name (``broker_url``). Up to celery 5.6 the
  lookup tries the prefixed name in every map first (``ConfigurationView._to_keys`` then
  ``ChainMap.__getitem__``), so the Django settings' ``CELERY_BROKER_URL`` wins over a later
  ``app.conf.update(broker_url=...)``; 5.7 walks the maps first, so the update wins. Writing both
  spellings into the changes map wins on every version.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import celery


def celery_version() -> tuple[int, ...]:
    """The installed Celery's version as numbers (``(5, 3, 6)``), for reports and the matrix."""
    return tuple(int(part) for part in celery.__version__.split(".")[:3] if part.isdigit())


def _prefixed(prefix: str, key: str) -> str:
    """The key as a namespaced configuration spells it (``CELERY_`` + ``BROKER_URL``)."""
    if key.startswith(prefix):
        return key
    # Celery's match_case: an upper-case namespace takes upper-case keys.
    return prefix + (key.upper() if prefix.isupper() else key)


def update_conf(app: Any, settings: Mapping[str, Any]) -> None:
    """Apply ``settings`` (plain setting names) to ``app.conf`` so that they win over the app's
    own configuration on every supported Celery, namespaced or not, before or after finalize."""
    if not settings:
        return
    conf = app.conf
    # Before finalize app.conf is a PendingConfiguration that knows no prefix yet; the app
    # keeps the namespace config_from_object was given.
    namespace = getattr(app, "namespace", None)
    prefix = namespace.rstrip("_") + "_" if namespace else None
    changes: dict[str, Any] = {}
    for key, value in settings.items():
        changes[key] = value
        if prefix:
            changes[_prefixed(prefix, key)] = value
    conf.update(changes)


#: The Redis database the stack gives a Redis result backend (the broker uses 0).
RESULT_BACKEND_DB = 1


def stack_result_backend(app: Any, broker_url: str, overrides: Mapping[str, Any]) -> str | None:
    """Point an app whose result backend is Redis at the stack's Redis, through the same proxy as
    the broker (``broker_url`` with db 1), so that its faults apply to results too and nothing
    dials the project's own Redis. Not when ``overrides`` name a ``result_backend`` (the scenario
    decided) or the backend is not Redis. Returns the URL applied, if any."""
    if "result_backend" in overrides:
        return None
    current = str(app.conf.result_backend or "")
    if not current.startswith(("redis://", "rediss://")):
        return None
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(broker_url)
    url = urlunsplit((parts.scheme, parts.netloc, f"/{RESULT_BACKEND_DB}", "", ""))
    update_conf(app, {"result_backend": url})
    # The backend object is made once per thread from the configuration (app._local): a stale one
    # would keep the old URL.
    local = getattr(app, "_local", None)
    if local is not None:
        vars(local).pop("backend", None)
    return url
