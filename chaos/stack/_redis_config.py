"""``CONFIG SET`` on a broker's own port, for faults that change how Redis behaves (``broker.oom``).

Both backends reach Redis directly here, never through the proxy, which the scenario may have
faulted at the same time.
"""

from __future__ import annotations

from collections.abc import Mapping

from chaos.errors import StackError


def reconfigure_redis(host: str, port: int, settings: Mapping[str, str]) -> dict[str, str]:
    """Set each of ``settings`` and return what they were before, so a heal can put them back."""
    import redis

    client = redis.Redis(host=host, port=port, socket_timeout=2.0, socket_connect_timeout=2.0)
    try:
        previous = {name: str(client.config_get(name)[name]) for name in settings}
        for name, value in settings.items():  # one at a time: Redis 6 sets one per call
            client.config_set(name, value)
    except redis.RedisError as exc:
        raise StackError("broker", f"CONFIG SET {dict(settings)} failed: {exc}") from exc
    finally:
        client.close()
    return previous
