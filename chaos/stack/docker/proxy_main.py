"""``python -m chaos.stack.docker.proxy_main [chaos proxy options]``: the proxy container's command.

The same server and options as ``chaos proxy`` (both parse with ``chaos.proxy.command``), without
importing the ``chaos`` command line (which imports every other command's dependencies): the
proxy container's start is on the critical path of a docker stack's start.
"""

from __future__ import annotations

import sys

from chaos.proxy.command import main

if __name__ == "__main__":
    sys.exit(main())
