"""The proxy's modules import only downwards (registry -> connection -> toxics -> link -> wire):
no cycle, not even through imports made only for type checking."""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
from pathlib import Path

import chaos.proxy

PROXY_DIR = Path(chaos.proxy.__file__).resolve().parent


def proxy_imports() -> dict[str, set[str]]:
    """Module -> the sibling modules it imports (every import statement, wherever it sits)."""
    graph: dict[str, set[str]] = {}
    for path in PROXY_DIR.glob("*.py"):
        imported = graph.setdefault(path.stem, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("chaos.proxy."):
                imported.add(node.module.split(".")[2])  # type: ignore[union-attr]
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []

    def walk(path: list[str]) -> None:
        for nxt in sorted(graph.get(path[-1], ())):
            if nxt in path:
                found.append([*path[path.index(nxt):], nxt])
            else:
                walk([*path, nxt])

    for module in sorted(graph):
        walk([module])
    return found


def test_the_proxy_has_no_import_cycle() -> None:
    assert cycles(proxy_imports()) == []


def test_links_and_toxics_know_their_connection_only_through_the_interface_module() -> None:
    graph = proxy_imports()
    assert "connection" not in graph["link"] | graph["toxics"]
    assert "registry" not in graph["connection"]
    assert graph["wire"] <= {"model"}


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"a"}}) == [["a", "b", "a"], ["b", "a", "b"]]


def imported_by(module: str) -> set[str]:
    """The chaos modules a fresh interpreter has loaded after importing ``module``."""
    probe = f"import sys, {module}; print(' '.join(m for m in sys.modules if m[:5] == 'chaos'))"
    finished = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                              timeout=60, check=True)  # fmt: skip
    return set(finished.stdout.split())


def test_the_proxy_container_entry_point_does_not_import_the_cli() -> None:
    loaded = imported_by("chaos.stack.docker.proxy_main")
    assert "chaos.proxy.command" in loaded
    assert not {name for name in loaded if name.startswith("chaos.cli")}


def test_chaos_proxy_and_the_container_parse_the_same_flags() -> None:
    from chaos.cli import build_parser
    from chaos.proxy.command import add_arguments

    own = argparse.ArgumentParser()
    add_arguments(own)
    argv = ["--host", "192.0.2.1", "--port", "0", "--seed", "7", "--allow-remote"]  # parsed only
    via_cli = vars(build_parser("proxy").parse_args(["proxy", *argv]))
    assert {key: via_cli[key] for key in vars(own.parse_args(argv))} == vars(own.parse_args(argv))
