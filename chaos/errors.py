"""One exception root for the toolkit, split by what the caller can do about it.

Modelled on httpx: callers catch ``ChaosError`` for everything, or one branch:

- ``ConfigError``: bad input (a scenario file, an option, an app path). The CLI exits 2.
- ``StackError``: the stack could not start or a part of it died. The CLI exits 3; it is never
  reported as a verdict, because an infrastructure failure says nothing about the system under test.
- ``ProxyError``: the fault proxy's HTTP API answered with an error.
"""

from __future__ import annotations

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
