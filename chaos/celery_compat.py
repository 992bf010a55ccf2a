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
