"""The app's own set-up for a run (``app.setup``): commands run once, after the run's database is
migrated and before any worker starts, so that tasks find the rows they need.

A command is a shell-like string (``python manage.py seed_customers --count 5``; a leading
``python`` is this interpreter) run in the app's directory with the app's environment. A failing
command is a StackError naming it with its output's tail: the run never starts on a half-set-up
app.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from chaos.errors import StackError

SETUP_TIMEOUT_SECONDS = 120.0


def setup_argv(command: str) -> list[str]:
    argv = shlex.split(command)
    if argv and argv[0] in ("python", "python3"):
        argv[0] = sys.executable
    return argv


def run_setup(commands: Sequence[str], workdir: Path, env: dict[str, str],
              log_path: Path | None = None) -> None:  # fmt: skip
    """Run each command in order; StackError on the first that fails or cannot start."""
    for command in commands:
        try:
            result = subprocess.run(
                setup_argv(command), cwd=workdir, env=env, capture_output=True, text=True,
                timeout=SETUP_TIMEOUT_SECONDS, check=False,
            )  # fmt: skip
        except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
            raise StackError("setup", f"app.setup command {command!r} could not run: {exc}",
                             hint="commands run in the app's directory") from None  # fmt: skip
        if log_path is not None:
            with log_path.open("a") as log:
                log.write(f"$ {command}\n{result.stdout}{result.stderr}(exit {result.returncode})\n")
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
            raise StackError("setup", f"app.setup command {command!r} exited with code "
                             f"{result.returncode}", log_tail=tail,
                             hint="it runs after migrations, before the workers start")  # fmt: skip
