"""``python -m chaos.stack.docker.proxy_main [chaos proxy options]``: the proxy container's command.

The same server and options as ``chaos proxy``, without building the whole ``chaos`` command line
(which imports every other command's dependencies): the proxy container's start is on the
critical path of a docker stack's start.
"""

from __future__ import annotations

import argparse
import sys

from chaos.cli import proxy_cmd


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="chaos")
    proxy_cmd.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["proxy", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
