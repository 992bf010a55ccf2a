"""The optional parts of celery-chaos and the pip extra that installs each.

A core install (``pip install celery-chaos``) runs scenarios on the local backend. The docker
backend (testcontainers, docker), the timeline picture (matplotlib) and the test tooling are
extras, imported only where they are used; when one is missing, the error says which extra to
install instead of surfacing a bare ModuleNotFoundError.
"""

from __future__ import annotations

from chaos.errors import ChaosError, ConfigError, Problem, StackError

#: top-level module -> the extra that provides it.
EXTRA_OF_MODULE: dict[str, str] = {
    "testcontainers": "docker",
    "docker": "docker",
    "matplotlib": "reports",
    "toxiproxy": "test",
    "hypothesis": "test",
    "xdist": "test",
    "pytest_timeout": "test",
    "uvloop": "fast",
    "orjson": "fast",
}

#: extra -> what it brings, in the words of the error message.
FEATURE_OF_EXTRA: dict[str, str] = {
    "docker": "the docker backend",
    "reports": "the timeline picture",
    "test": "the test tooling",
    "fast": "the fast event loop and JSON parser",
}


def install_hint(extra: str) -> str:
    """The command that installs ``extra``."""
    return f'pip install "celery-chaos[{extra}]"'


def missing_extra(exc: ImportError) -> str | None:
    """The extra whose module ``exc`` failed to import, or None when it is not an optional one
    (a real bug, which must keep its traceback)."""
    name = getattr(exc, "name", None) or ""
    return EXTRA_OF_MODULE.get(name.split(".")[0])


def missing_extra_error(exc: ImportError) -> ChaosError | None:
    """``exc`` as the toolkit's own error with the install hint: StackError for the docker backend
    (like an engine that does not answer, exit 3), ConfigError for the others (exit 2); None when
    the missing module is not one of the extras'."""
    extra = missing_extra(exc)
    if extra is None:
        return None
    feature = FEATURE_OF_EXTRA[extra]
    reason = f"the Python package {exc.name!r} is not installed"
    if extra == "docker":
        return StackError(
            "docker backend", reason, hint=f"{install_hint(extra)}, or use --backend local"
        )
    return ConfigError([Problem(f"{feature} needs an optional package: {reason}",
                                hint=install_hint(extra))])  # fmt: skip
