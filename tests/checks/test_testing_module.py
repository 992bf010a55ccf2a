"""``chaos.testing`` is public: the example in its docstring, a user's own check tested on a
synthetic run, works as written."""

from __future__ import annotations

import textwrap

import chaos.testing
from chaos.checks import CHECKS


def docstring_example() -> str:
    """The indented block after the line ending in ``::`` (the docstring's last part)."""
    return textwrap.dedent((chaos.testing.__doc__ or "").split("::\n", 1)[1])


def test_the_docstring_example_runs_and_its_check_fails_the_slow_attempt() -> None:
    namespace: dict[str, object] = {}
    try:
        exec(compile(docstring_example(), "chaos.testing example", "exec"), namespace)
        assert "attempts_under" in CHECKS
        assert namespace["verdict"].ok is False  # type: ignore[attr-defined]
    finally:
        CHECKS.pop("attempts_under", None)  # the example registers it; leave the registry as found

