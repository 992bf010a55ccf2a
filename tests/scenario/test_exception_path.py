"""A failpoint's ``raise:`` in the app's own code is judged from its source, never imported."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.scenario.exception_path import exception_path_problem

APP_ERRORS = """
class Stop(SystemExit):
    pass

class Interrupted(KeyboardInterrupt, GeneratorExit):
    pass

class Carrier(ValueError):
    pass

class Mixed(SystemExit, ValueError):
    pass
"""

SHADOWED = """
from .base import SystemExit

class Stop(SystemExit):
    pass
"""


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    package = tmp_path / "myapp"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "errors.py").write_text(APP_ERRORS)
    (package / "shadowed.py").write_text(SHADOWED)
    return tmp_path


@pytest.mark.parametrize(
    ("path", "refusal"),
    [
        ("myapp.errors.Stop", "a BaseException but not an Exception"),
        ("myapp.errors.Interrupted", "worker.kill_pool_process"),
        ("myapp.errors.Carrier", None),
        # ValueError makes it an Exception, and a rebound name is not the built-in one.
        ("myapp.errors.Mixed", None),
        ("myapp.shadowed.Stop", None),
    ],
)
def test_an_app_class_ending_the_process_is_refused(
    workdir: Path, path: str, refusal: str | None
) -> None:
    problem = exception_path_problem(path, workdir)
    if refusal is None:
        assert problem is None
    else:
        assert problem is not None and refusal in problem
