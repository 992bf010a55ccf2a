"""Whether kombu's restore lock was left held when the run ended.

The Redis transport restores unacknowledged messages (a dead worker's, a lost ack's) under a
Redis lock, ``unacked_mutex``, that expires after ``unacked_mutex_expire`` (300 s by default). A
worker killed, or cut off, while it holds the lock stops every restore until Redis expires it, in
Redis's real seconds: a message "delayed until visibility_timeout" then waits minutes longer.
The journal alone cannot tell that apart from a restore that never came, so after the drain the
runner asks Redis, on its own port, for the lock's time to live, and journals the locks it finds
held (``broker.restore_lock``; nothing when none is). ``chaos.checks.delivery`` names it.
"""

from __future__ import annotations

from pathlib import Path

from chaos.journal import JOURNAL_FILE, JournalWriter, read_journal

RESTORE_LOCK_EVENT = "broker.restore_lock"


def restore_lock_keys(journal: Path) -> list[str]:
    """The lock keys the workers reported at ready (``global_keyprefix`` applied)."""
    keys: list[str] = []
    for event in read_journal(journal):
        if event.kind != "worker.ready":
            continue
        key = (event.data.get("restore_lock") or {}).get("key")
        if isinstance(key, str) and key not in keys:
            keys.append(key)
    return keys


def journal_restore_lock(writer: JournalWriter, run_dir: Path, direct_url: str) -> None:
    """Journal each restore lock still held in the broker, with its seconds to live (Redis's)."""
    keys = restore_lock_keys(run_dir / JOURNAL_FILE)
    if not keys:
        return
    import redis

    client = redis.Redis.from_url(direct_url, socket_timeout=5.0, socket_connect_timeout=2.0,
                                  retry=None)  # fmt: skip
    try:
        ttls = [client.pttl(key) for key in keys]
    except redis.RedisError as exc:  # the broker may be what the scenario left down
        writer.write(RESTORE_LOCK_EVENT, held=[], error=f"{type(exc).__name__}: {exc}"[:300])
        return
    finally:
        client.close()
    # PTTL: -2 no such key (not held), -1 a key without expiry, else milliseconds left.
    held = [{"key": key, "ttl": None if ttl == -1 else ttl / 1000.0}
            for key, ttl in zip(keys, ttls, strict=True) if ttl != -2]  # fmt: skip
    if held:
        writer.write(RESTORE_LOCK_EVENT, held=held)
