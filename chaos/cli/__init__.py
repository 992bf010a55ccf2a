"""The ``chaos`` command: one subcommand per module in this package.

Each command module exposes ``add_parser(subparsers)`` which registers its parser and sets
``func`` to a callable taking the parsed namespace and returning the exit code. Exit codes are
DESIGN.md's: 0 every expectation held, 1 an expectation failed, 2 bad input or usage, 3 an
infrastructure error (the stack could not start or died, the disk or memory ran out); an
interrupted run exits 128 + the signal: 130 for SIGINT, 143 for SIGTERM; a command whose reader
went away (``chaos check --json | head -1``) stops quietly with 141, what a shell reports for a
process that SIGPIPE ended.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import select
import signal
import sys
from collections.abc import Sequence

from chaos.errors import ConfigError, StackError
from chaos.extras import missing_extra_error
from chaos.interruption import (  # noqa: F401 - Terminated: API
    Terminated,
    raise_on_sigterm,
    terminate_when_pipe_closes,
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_STACK = 3
#: The reader of stdout went away: 128 + SIGPIPE, as if the default SIGPIPE action had ended us.
#: We keep Python's ignored SIGPIPE and catch EPIPE instead, so that ``chaos run`` still unwinds
#: through its clean-ups (the stack, workers and proxy stop) when its output pipe closes.
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE

#: Each command and its one-line help. Only the command being run is imported: the others cost
#: nothing, so ``chaos proxy`` or ``chaos --help`` do not pay for the runner's imports.
COMMANDS: dict[str, str] = {
    "run": "run scenarios against a real stack and print the verdicts",
    "replay": "run a recorded run again and compare the verdicts",
    "check": "re-check a recorded run's journal offline and print the verdicts",
    "list": "list the scenarios of a directory",
    "validate": "check scenario files (nothing is started)",
    "report": "write a run's HTML report (verdict table and timeline picture) and print its path",
    "clean": "stop the processes crashed runs left behind",
    "images": "build the docker backend's images (base, Redis, proxy, worker) locally",
    "proxy": "run the Toxiproxy-compatible fault proxy server",
    "matrix": "run scenarios under several celery/kombu/redis-py version sets and compare",
    "mutate": "plant Celery-policy bugs in a copy of the project and see which the scenarios catch",
    "init": "write a starter library from a project's task declarations",
}


def command_in(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` names, if any: the first argument that is not an option."""
    for argument in argv:
        if not argument.startswith("-"):
            return argument if argument in COMMANDS else None
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with ``command``, only that command's module is imported and the others
    stand in with their help line (enough for usage and ``--help``)."""
    from chaos import __version__

    parser = argparse.ArgumentParser(
        prog="chaos",
        description="Fault-injection and resilience checks for Celery apps on a Redis broker.",
        epilog="Run 'chaos COMMAND --help' for a command's options and an example.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="on an error, print the traceback before the message")  # fmt: skip
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, help_line in COMMANDS.items():
        if command is None or name == command:
            importlib.import_module(f"chaos.cli.{name}_cmd").add_parser(subparsers)
        else:
            subparsers.add_parser(name, help=help_line)
    return parser


def _is_disk_error(exc: OSError) -> bool:
    return exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG)


def _infrastructure_words(exc: StackError) -> str:
    if exc.component == "docker backend":
        return "an optional part is not installed"
    if exc.component in ("journal", "run directory"):
        return "infrastructure error, no verdict"
    return "the stack could not start"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit code: 0 held, 1 an expectation failed, 2 bad input or
    usage, 3 infrastructure (the stack, the disk, the memory), 130 SIGINT, 143 SIGTERM.

    Errors print one message, no traceback; ``chaos --debug COMMAND`` adds the traceback.
    """
    arguments = list(sys.argv[1:] if argv is None else argv)
    command = command_in(arguments)
    parser = build_parser(command or "")
    args = parser.parse_args(arguments)
    name = f"chaos {args.command}"
    raise_on_sigterm()
    terminate_when_pipe_closes()  # a ``chaos run --jobs`` child ends with its parent
    try:
        try:
            return int(args.func(args))
        except ModuleNotFoundError as exc:  # an optional part not installed: name its extra
            raise (missing_extra_error(exc) or exc) from None
    except ConfigError as exc:
        _say(args, f"{name}: {exc}")
        return EXIT_USAGE
    except StackError as exc:
        _say(args, f"{name}: {_infrastructure_words(exc)}: {exc}")
        return EXIT_STACK
    except MemoryError:
        _say(args, f"{name}: out of memory (an infrastructure error, no verdict)")
        return EXIT_STACK
    except OSError as exc:
        if isinstance(exc, BrokenPipeError) and _stdout_reader_gone():
            _silence_stdout()
            return EXIT_BROKEN_PIPE
        where = f" ({exc.filename})" if exc.filename else ""
        kind = "the disk failed" if _is_disk_error(exc) else "an operating system error"
        _say(args, f"{name}: {kind}{where}: {exc.strerror or exc} (an infrastructure error, "
                   "no verdict)")  # fmt: skip
        return EXIT_STACK
    except KeyboardInterrupt as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        _say(args, f"{name}: interrupted ({signal.Signals(signum).name}); "
                   "the stack was stopped", traceback=False)  # fmt: skip
        return 128 + int(signum)


def _say(args: argparse.Namespace, message: str, *, traceback: bool = True) -> None:
    """The error message on stderr; with ``--debug``, the traceback of the exception being
    handled before it."""
    if traceback and getattr(args, "debug", False):
        import traceback as tb

        tb.print_exc(file=sys.stderr)
    print(message, file=sys.stderr)


def _stdout_reader_gone() -> bool:
    """Whether stdout is a pipe whose reading end is closed (the kernel flags the writing end
    with POLLERR): the one broken pipe that is the reader's doing, not a broken socket's."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (OSError, ValueError, AttributeError):  # no real file descriptor behind stdout
        return False


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush of what is still buffered
    does not fail again ("Exception ignored ... BrokenPipeError") on the way out."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        os.close(devnull)


def entrypoint() -> None:
    code = main()
    try:  # what is still buffered goes now, while a closed pipe can still be told apart
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        code = EXIT_BROKEN_PIPE
    sys.exit(code)
