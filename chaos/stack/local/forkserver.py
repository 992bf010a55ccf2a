"""Workers forked from a warm interpreter: the cold start without the import cost.

A cold worker spends most of its start importing Celery, kombu, redis-py and Django (measured:
about 80 % of a local stack's cold start). ``multiprocessing``'s fork server imports those once
per owner process (the runner, the pytest session); every worker after the first stack is then a
fork of it that imports only the app itself, sets Django up and connects. The app is never
imported in the fork server: Django settings read the run's environment (database path, endpoint
URLs) at import, so each fork sets its environment first.

As with any multiprocessing fork server child, a forked worker re-imports the owner's main script
(as ``__mp_main__``) unless the owner ran with ``-m``: the owner must guard its entry point with
``if __name__ == "__main__":`` (pytest, ``chaos`` and the benchmarks do).

A forked worker's ``/proc/PID/environ`` is the fork server's, not the run's, so ``chaos clean``
finds it by its pidfile and process group only (its pool children share that group).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Mapping, Sequence
from multiprocessing.context import ForkServerContext
from pathlib import Path
from typing import Any

from chaos.stack.local.process import ChildProcess

#: One guarded module does the preloading (mp's own loop only tolerates ImportError).
PRELOAD = ["chaos.stack.local.preload"]

_context: ForkServerContext | None = None


def fork_context() -> ForkServerContext:
    """The owner process's fork server context, with the preload list set once."""
    global _context
    if _context is None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        _context = context
    return _context


def run_launcher(argv: Sequence[str], env: Mapping[str, str], cwd: str, log_path: str) -> None:
    """The forked child: its own session, the run's environment and log, then the launcher."""
    os.setsid()
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    sys.path[:0] = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    from chaos.stack.launch import main

    code = main(list(argv))
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(code)


class ForkedChild(ChildProcess):
    """A launcher run as a fork of the warm fork server instead of a new interpreter.

    ``argv`` is the launcher's own arguments (after ``-m chaos.stack.launch``).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._forked: Any = None

    @property
    def pid(self) -> int | None:
        return self._forked.pid if self._forked is not None else None

    def _launch(self) -> None:
        self._forked = fork_context().Process(
            target=run_launcher,
            args=(self.argv, self.env, str(self.cwd or Path.cwd()), str(self.log_path)),
            name=self.name,
        )
        self._forked.start()

    @property
    def returncode(self) -> int | None:
        return self._forked.exitcode if self._forked is not None else None

    def wait(self, timeout: float) -> bool:
        if self._forked is None:
            return True
        self._forked.join(timeout)
        return self._forked.exitcode is not None
