"""A runner stand-in for the reaping test: starts a local stack, says what it started, waits.

``python tests/stack/stack_owner.py RUN_DIR [spawn|forkserver]`` prints one JSON line (run id, pids, ports) once
the stack is ready, then blocks reading stdin; the test kills it with SIGKILL.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from chaos.stack import LocalStack
from chaos.stack.base import StackConfig

APP_DIR = Path(__file__).resolve().parents[1] / "apps"


def main() -> None:
    config = StackConfig(app="plainapp", workdir=APP_DIR, settings_module=None,
                         run_dir=Path(sys.argv[1]), workers=1, pool="prefork",
                         worker_start=sys.argv[2] if len(sys.argv) > 2 else "spawn")  # fmt: skip
    stack = LocalStack(config)
    stack.start()
    print(json.dumps({
        "run_id": stack.run_id,
        "pids": [stack.broker.process.pid] + [w.pid for w in stack.workers],
        "ports": [stack.broker.port, stack.proxy.listen_port],
        "watchdog": stack._watchdog.pid if stack._watchdog is not None else None,
    }), flush=True)  # fmt: skip
    sys.stdin.read()
    stack.close()


if __name__ == "__main__":
    main()
