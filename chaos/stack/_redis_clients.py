"""Connections reset by the server: ``CLIENT KILL`` on a broker's own port.

What an idle ``timeout``, a failover or an operator's ``CLIENT KILL`` does to Celery: the TCP
connection is closed by Redis while Redis stays up. Both backends reach Redis directly here, never
through the proxy; behind the proxy, every client Redis sees is one of the proxy's upstream links,
so killing them closes the clients' connections too.
"""

from __future__ import annotations

from chaos.errors import StackError

def disconnect_clients(
    direct_url: str, *, name: str | None = None, addr: str | None = None,
    prefix: str | None = None,
) -> list[dict[str, str]]:
    """Kill Redis's normal clients (those named ``name`` / whose name starts with ``prefix`` /
    at ``addr`` if given; ``addr`` is ``host:port`` or a bare host) except this call's own
    connection; return who was killed."""
    import redis

    client = redis.Redis.from_url(direct_url, socket_timeout=2.0, socket_connect_timeout=2.0)
    try:
        own_id = int(client.client_id())
        chosen = [
            found for found in client.client_list(_type="normal")
            if int(found["id"]) != own_id
            and (name is None or found.get("name") == name)
            and (prefix is None or str(found.get("name") or "").startswith(prefix))
            and (addr is None or addr in (found["addr"], found["addr"].rpartition(":")[0]))
        ]  # fmt: skip
        for found in chosen:
            # By id, one at a time: CLIENT KILL has no name filter, and an id is never reused.
            client.client_kill_filter(_id=found["id"])
    except redis.RedisError as exc:
        raise StackError("broker", f"CLIENT KILL on {direct_url} failed: {exc}") from exc
    finally:
        client.close()
    return [{"id": str(found["id"]), "addr": found["addr"], "name": found.get("name", "")}
            for found in chosen]  # fmt: skip
