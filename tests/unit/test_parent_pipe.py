"""A child handed the parent's pipe ends as on SIGTERM once the pipe closes (the parent died),
and a process without one is not touched."""

from __future__ import annotations

import os
import subprocess
import sys

from chaos.interruption import EXIT_TERMINATED, PARENT_PIPE_VARIABLE

CHILD = """
import sys, time
from chaos.interruption import Terminated, raise_on_sigterm, terminate_when_pipe_closes
raise_on_sigterm()
try:
    print(terminate_when_pipe_closes(), flush=True)
    sys.stdin.read()  # blocks until the test closes stdin; Terminated may come first
except Terminated:
    print("terminated", flush=True)
    sys.exit(143)
print("stdin closed", flush=True)
"""


def _child(env: dict[str, str], fds: tuple[int, ...]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env, pass_fds=fds)  # fmt: skip


def test_the_parents_pipe_closing_stops_the_child_as_sigterm_does() -> None:
    read_end, write_end = os.pipe()
    child = _child({**os.environ, PARENT_PIPE_VARIABLE: str(read_end)}, (read_end,))
    os.close(read_end)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "True"
    os.close(write_end)  # what the kernel does when the parent dies
    out = child.stdout.read()  # stdin stays open: only the pipe's end can stop the child
    assert (child.wait(timeout=30), out.strip()) == (EXIT_TERMINATED, "terminated")
    assert child.stdin is not None
    child.stdin.close()


def test_without_the_variable_nothing_is_watched() -> None:
    env = {k: v for k, v in os.environ.items() if k != PARENT_PIPE_VARIABLE}
    child = _child(env, ())
    out, _ = child.communicate("", timeout=30)
    assert (child.returncode, out.split()) == (0, ["False", "stdin", "closed"])
