"""``python out_of_memory.py MIB CHAOS_ARGS...``: ``chaos`` with its address space capped MIB above
what it uses once imported, standing in for a machine that runs out of memory mid-command (the
imports come first so that only the command's own work can hit the cap)."""

from __future__ import annotations

import resource
import sys

import chaos.checks  # noqa: F401  (imported before the cap)
import chaos.cli.check_cmd  # noqa: F401
import chaos.history  # noqa: F401
from chaos.cli import main


def address_space_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise SystemExit("no VmSize in /proc/self/status")


if __name__ == "__main__":
    cap = address_space_bytes() + int(sys.argv[1]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    sys.exit(main(sys.argv[2:]))
