"""``python out_of_memory.py CHAOS_ARGS...``: ``chaos`` on a machine that runs out of memory while it
builds a history: the history builder first asks for more memory than any machine has, so CPython
raises a real MemoryError there, every time.

An address-space cap (RLIMIT_AS) was tried first and is not deterministic: depending on where the
allocation that crosses the cap lands, CPython raises MemoryError, or a C extension that does not
check malloc crashes (SIGSEGV) or hangs. This tests the CLI's contract, not the allocator.
"""

from __future__ import annotations

import sys

import chaos.history.loader as loader
from chaos.cli import main

_build = loader.build_from_columns


def _build_without_memory(*args, **kwargs):
    bytearray(1 << 62)  # 4 EiB: refused by the allocator, raised as MemoryError by CPython
    return _build(*args, **kwargs)


if __name__ == "__main__":
    loader.build_from_columns = _build_without_memory
    sys.exit(main(sys.argv[1:]))
