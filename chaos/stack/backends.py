"""The backend registry: one table from a backend's name to its ``Stack`` class.

Like kombu's transport aliases: the CLI's ``--backend``, pytest's ``--chaos-backend`` and
``open_stack`` all read this table, so a new backend (say Kubernetes) is a ``Stack`` subclass and
one ``register_backend`` call, nothing else; an installed package can instead declare it as a
``chaos.backends`` entry point (``kubernetes = chaos_k8s:KubernetesStack``), which is seen before
pytest parses ``--chaos-backend``. Built-in backends are named by "module:Class" and imported on
first use, so that asking for ``local`` never imports Docker's client.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from chaos.errors import ConfigError, Problem, StackError
from chaos.extras import missing_extra_error

if TYPE_CHECKING:
    from chaos.stack.base import Stack

#: backend name -> its ``Stack`` subclass, or "module:Class" for one imported on demand.
BACKENDS: dict[str, type[Stack] | str] = {
    "local": "chaos.stack.local.stack:LocalStack",
    "docker": "chaos.stack.docker.stack:DockerStack",
}

DEFAULT_BACKEND = "local"
ENTRY_POINT_GROUP = "chaos.backends"


def registered_backends() -> dict[str, type[Stack] | str]:
    """Every backend by name: the table above (registration order), then those installed
    packages declare as entry points (read each time, a millisecond or two)."""
    from importlib.metadata import entry_points

    backends = dict(BACKENDS)
    for point in entry_points(group=ENTRY_POINT_GROUP):
        backends.setdefault(point.name, point.value)
    return backends


def register_backend(name: str, stack_class: type[Stack] | str) -> None:
    """Make ``name`` a backend: ``open_stack(config, backend=name)`` builds ``stack_class`` (a
    ``Stack`` subclass, or "module:Class" to import it on first use), and the CLI and the pytest
    option offer it."""
    BACKENDS[name] = stack_class


def unregister_backend(name: str) -> None:
    """Forget a backend registered with ``register_backend`` (a test's throwaway one)."""
    BACKENDS.pop(name, None)


def backend_class(name: str) -> type[Stack]:
    """The ``Stack`` class registered as ``name``; ConfigError listing the known ones otherwise."""
    known = registered_backends()
    target = known.get(name)
    if target is None:
        raise ConfigError(
            [Problem("unknown stack backend", field_path="backend", given=repr(name),
                     expected=" | ".join(known))]
        )  # fmt: skip
    if not isinstance(target, str):
        return target
    module_name, _, class_name = target.partition(":")
    try:
        stack_class: type[Stack] = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        if isinstance(exc, ImportError) and (extra_error := missing_extra_error(exc)) is not None:
            raise extra_error from exc  # an optional extra not installed: name it
        raise StackError(name, f"the {name} backend ({target}) cannot be imported: {exc}",
                         hint="is the package that provides it installed?") from exc  # fmt: skip
    return stack_class


class BackendNames:
    """The registered names as a live view, for argparse's ``choices``: a backend registered
    after the parser was built (by a conftest, say) is still accepted and listed."""

    def __contains__(self, name: object) -> bool:
        return name in registered_backends()

    def __iter__(self) -> Iterator[str]:
        return iter(list(registered_backends()))  # the built-in ones first

    def __len__(self) -> int:
        return len(registered_backends())

    def __repr__(self) -> str:
        return repr(list(registered_backends()))


backend_names = BackendNames()
