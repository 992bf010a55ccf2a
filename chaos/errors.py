"""One exception root for the toolkit, split by what the caller can do about it.

Modelled on httpx: callers catch ``ChaosError`` for everything, or one branch:

- ``ConfigError``: bad input (a scenario file, an option, an app path). The CLI exits 2.
- ``StackError``: the stack could not start or a part of it died. The CLI exits 3; it is never
  reported as a verdict, because an infrastructure failure says nothing about the system under test.
- ``ProxyError``: the fault proxy's HTTP API answered with an error.

Lower-level errors (Docker's, redis-py's, kombu's, the OS's) are turned into these at one
boundary, ``map_exceptions``, with a hint of what to do next; the stacks' start paths use it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path


class ChaosError(Exception):
    """Root of every error the toolkit raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is, which field, what was given and expected."""

    message: str
    file: Path | str | None = None
    line: int | None = None
    column: int | None = None
    field_path: str | None = None
    given: str | None = None
    expected: str | None = None
    hint: str | None = None

    def location(self) -> str:
        parts = [str(self.file)] if self.file else []
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def __str__(self) -> str:
        where = self.location()
        text = f"{where}: " if where else ""
        if self.field_path:
            text += f"{self.field_path}: "
        text += self.message
        if self.given is not None:
            text += f" (given {self.given}"
            text += f", expected {self.expected})" if self.expected else ")"
        elif self.expected:
            text += f" (expected {self.expected})"
        if self.hint:
            text += f"; {self.hint}"
        return text


class ConfigError(ChaosError):
    """Bad input. Carries every problem found, so that one run reports them all."""

    def __init__(self, problems: list[Problem] | str, *, file: Path | str | None = None) -> None:
        if isinstance(problems, str):
            problems = [Problem(problems, file=file)]
        self.problems: list[Problem] = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class StackFailure:
    """What did not start or died, with the tail of its log and a hint of what to do next."""

    component: str
    reason: str
    log_tail: str = ""
    hint: str = ""
    extra: dict[str, str] = field(default_factory=dict)


class StackError(ChaosError):
    """A part of the stack (broker, proxy, worker, container engine) failed to start or died."""

    def __init__(self, component: str, reason: str, *, log_tail: str = "", hint: str = "") -> None:
        self.failure = StackFailure(component, reason, log_tail, hint)
        text = f"{component}: {reason}"
        if hint:
            text += f" ({hint})"
        if log_tail:
            text += "\n--- log tail ---\n" + log_tail.rstrip()
        super().__init__(text)

    @property
    def component(self) -> str:
        return self.failure.component


class ProxyError(ChaosError):
    """The fault proxy's API refused a request; ``status`` is its HTTP status code."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(f"{status}: {message}")


#: Lower-level errors mapped to ``StackError`` at the boundary, by the qualified name of a class in
#: the error's MRO (names, not imports: this module loads in every worker and must stay light),
#: each with what to do next. The first match wins: the specific names come first.
STACK_ERROR_HINTS: tuple[tuple[str, str], ...] = (
    ("docker.errors.ImageNotFound", "build the docker backend's images first: chaos images"),
    ("docker.errors.NotFound", "a container, network or volume of the run is gone (removed by "
                               "chaos clean or by hand?)"),
    ("docker.errors.DockerException", "is the Docker engine running? (scripts/ensure-docker), "
                                      "or use --backend local"),
    ("requests.exceptions.ConnectionError", "is the Docker engine running? "
                                            "(scripts/ensure-docker), or use --backend local"),
    ("redis.exceptions.RedisError", "is the broker killed, paused or still loading its data?"),
    ("kombu.exceptions.OperationalError", "is the broker reachable through the proxy?"),
    ("builtins.PermissionError", "check the permissions of the run directory and of the state "
                                 "directory ($CHAOS_STATE_DIR)"),
    ("builtins.FileNotFoundError", "a file or program the stack needs is missing"),
    ("builtins.TimeoutError", "the machine may be overloaded: raise the start timeout"),
    ("builtins.OSError", "an operating system call failed (ports, files, processes)"),
    ("builtins.ImportError", "is the package that provides it installed in this environment?"),
)  # fmt: skip


def stack_error_for(exc: BaseException, component: str, doing: str) -> StackError | None:
    """``exc`` as a StackError naming ``component`` and what it was ``doing``, with a hint; None
    when it is none of the lower-level errors in ``STACK_ERROR_HINTS`` (a bug, left as it is)."""
    names = {f"{cls.__module__}.{cls.__qualname__}" for cls in type(exc).__mro__}
    for name, hint in STACK_ERROR_HINTS:
        if name in names:
            detail = getattr(exc, "explanation", None) or str(exc) or type(exc).__name__
            return StackError(component, f"{doing} failed: {detail}", hint=hint)
    return None


@contextmanager
def map_exceptions(component: str, doing: str) -> Iterator[None]:
    """Within the block, a lower-level error (docker, redis, kombu, OS) becomes a ``StackError``
    naming ``component`` and what it was ``doing``, chained to the original; toolkit errors and
    anything unknown pass unchanged (httpx's ``map_exceptions``, for the stack)."""
    try:
        yield
    except ChaosError:
        raise
    except Exception as exc:
        mapped = stack_error_for(exc, component, doing)
        if mapped is None:
            raise
        raise mapped from exc
