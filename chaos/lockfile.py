"""Reading ``requirements.lock``, pip-compile's hashed lock.

The lock is installed with ``--require-hashes``; where it serves as a constraints file (the docker
image's wheelhouse) its hashes must go: pip turns a hash in a constraints file into require-hashes
mode, which then refuses every requirement not pinned with ``==``.
"""

from __future__ import annotations


def pins_without_hashes(lock_text: str) -> str:
    """The lock's ``name==version`` lines, one per line, without hashes, comments or markers' wraps."""
    pins = []
    for raw in lock_text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", "--")):
            continue
        pins.append(line.removesuffix("\\").strip())
    return "".join(f"{pin}\n" for pin in pins)
