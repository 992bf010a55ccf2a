"""Reading the files a user hands the tool within limits: size, nesting depth, YAML alias expansion.

A scenario, a proxies file, a report.json or a run directory's recorded scenario is input: a
hostile or broken one must be refused in well under a second with a message naming the file and
the limit, never grow the process without end or raise a RecursionError. The limits sit far above
anything real (the scenarios in this project are under 2 KB and 6 levels deep).

YAML aliases are counted, not refused: an anchor shared by a few faults is legitimate, a "billion
laughs" file is a handful of lines whose aliases expand to billions of values. After composing,
the size of every node is computed once (memoised, so a bomb costs as much as its text) counting
each use of an alias as the whole value it stands for; a document that expands beyond
``MAX_YAML_VALUES`` is refused, and so is an alias that contains itself. Everything later (the
scenario builder, PyYAML's constructor, pydantic) then walks at most that many values.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from chaos.errors import ConfigError, Problem

#: Scenario files (and a run directory's recorded copy). The largest real one is 2 KB.
MAX_SCENARIO_BYTES = 256 * 1024
#: JSON and YAML documents the tool reads back: report.json, a proxies file, an --expect file.
MAX_DOCUMENT_BYTES = 32 * 1024 * 1024
#: Mappings and lists inside one another. Keeps every recursive reader far from Python's stack.
MAX_DEPTH = 64
#: Values a YAML document may expand to, each use of an alias counted as its whole value.
MAX_YAML_VALUES = 100_000


def _size_text(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MiB"
    if size >= 1024:
        return f"{size / 1024:.0f} KiB"
    return f"{size} bytes"


def read_text(path: Path | str, *, max_bytes: int, what: str) -> str:
    """The text of ``path``, refused (ConfigError naming the file and the limit) when it is larger
    than ``max_bytes``, unreadable or not UTF-8. ``what`` says which kind of file it is."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise ConfigError([Problem("no such file", file=path)]) from None
    except OSError as exc:
        raise ConfigError([Problem(f"cannot read the file: {exc.strerror}", file=path)]) from None
    if len(data) > max_bytes:
        size = path.stat().st_size
        raise ConfigError(
            [
                Problem(
                    f"the file is too large for {what}",
                    file=path,
                    given=_size_text(max(size, len(data))),
                    expected=f"at most {_size_text(max_bytes)}",
                )
            ]
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError([Problem("not UTF-8 text", file=path, line=line)]) from None


def check_text_size(text: str, path: Path | str, *, max_bytes: int, what: str) -> None:
    """The size limit for text that did not come from ``read_text`` (a scenario given as text)."""
    size = len(text.encode("utf-8", errors="replace"))
    if size > max_bytes:
        raise ConfigError(
            [
                Problem(
                    f"the text is too large for {what}",
                    file=path,
                    given=_size_text(size),
                    expected=f"at most {_size_text(max_bytes)}",
                )
            ]
        )


def _too_deep(path: Path | str, line: int | None, column: int | None = None) -> ConfigError:
    return ConfigError(
        [
            Problem(
                f"nested more than {MAX_DEPTH} levels deep",
                file=path,
                line=line,
                column=column,
                expected=f"at most {MAX_DEPTH} levels of mappings and lists",
            )
        ]
    )


def check_depth(value: Any, path: Path | str) -> None:
    """Refuse a decoded document nested deeper than ``MAX_DEPTH`` (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, dict):
            children = current.values()
        elif isinstance(current, list):
            children = current
        else:
            continue
        if depth >= MAX_DEPTH:
            raise _too_deep(path, None)
        stack.extend((child, depth + 1) for child in children)


def loads_json(text: str, path: Path | str) -> Any:
    """JSON from ``text``: a ConfigError naming the file (and line) when it is not JSON or nests
    deeper than ``MAX_DEPTH``."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            [Problem(f"not JSON: {exc.msg}", file=path, line=exc.lineno, column=exc.colno)]
        ) from None
    except RecursionError:
        raise _too_deep(path, None) from None
    check_depth(value, path)
    return value


def read_json(path: Path | str, *, what: str, max_bytes: int = MAX_DOCUMENT_BYTES) -> Any:
    """``read_text`` then ``loads_json``."""
    return loads_json(read_text(path, max_bytes=max_bytes, what=what), path)


class _LimitHit(yaml.YAMLError):
    """A bound crossed while composing; carries the problem to report."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader whose composer refuses nesting deeper than ``MAX_DEPTH``.

    PyYAML's parser is a state machine but its composer recurses, three frames a level: without a
    bound, 5000 nested ``[`` raise a RecursionError from deep inside PyYAML.
    """

    def __init__(self, stream: str, path: Path | str) -> None:
        super().__init__(stream)
        self.path = path
        self.depth = 0
        self.first_alias: yaml.Mark | None = None

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            if self.first_alias is None:
                self.first_alias = self.peek_event().start_mark
            return super().compose_node(parent, index)
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise _LimitHit(_too_deep(self.path, mark.line + 1, mark.column + 1).problems[0])
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _expanded_size(root: yaml.Node, loader: _BoundedLoader) -> int:
    """How many values ``root`` stands for once every alias is expanded (memoised per node)."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            mark = node.start_mark
            raise _LimitHit(
                Problem(
                    "a YAML alias refers to a value that contains it (an endless value)",
                    file=loader.path,
                    line=mark.line + 1,
                    column=mark.column + 1,
                )
            )
        open_nodes.add(key)
        if isinstance(node, yaml.SequenceNode):
            total = 1 + sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total = 1 + sum(size(key_node) + size(value) for key_node, value in node.value)
        else:
            total = 1
        open_nodes.discard(key)
        sizes[key] = total
        return total

    return size(root)


def compose_yaml(text: str, path: Path | str) -> list[yaml.Node]:
    """Every document of ``text`` as PyYAML nodes, within the depth and expansion limits.

    Raises ``yaml.YAMLError`` for text that is not YAML (with PyYAML's marks) and ConfigError for a
    crossed limit.
    """
    loader = _BoundedLoader(text, path)
    try:
        nodes = []
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                size = _expanded_size(node, loader)
                if size > MAX_YAML_VALUES:
                    where = loader.first_alias or node.start_mark
                    raise _LimitHit(
                        Problem(
                            f"the document expands to {size} values"
                            + (" through YAML aliases" if loader.first_alias else ""),
                            file=path,
                            line=where.line + 1,
                            column=where.column + 1,
                            expected=f"at most {MAX_YAML_VALUES}",
                        )
                    )
            nodes.append(node)
        return nodes
    except _LimitHit as hit:
        raise ConfigError([hit.problem]) from None
    finally:
        loader.dispose()


def loads_yaml(text: str, path: Path | str) -> Any:
    """One YAML (or JSON) document from ``text``, within the limits; ConfigError naming the file
    and line when it is not YAML or crosses one."""
    try:
        nodes = compose_yaml(text, path)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(
            [
                Problem(
                    f"not YAML or JSON: {getattr(exc, 'problem', None) or exc}",
                    file=path,
                    line=mark.line + 1 if mark is not None else None,
                    column=mark.column + 1 if mark is not None else None,
                )
            ]
        ) from None
    nodes = [node for node in nodes if node is not None]
    if not nodes:
        return None
    if len(nodes) > 1:
        mark = nodes[1].start_mark
        raise ConfigError(
            [Problem("more than one YAML document", file=path, line=mark.line + 1)]
        )
    constructor = yaml.SafeLoader("")
    try:
        return constructor.construct_document(nodes[0])
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(
            [
                Problem(
                    f"not YAML or JSON: {getattr(exc, 'problem', None) or exc}",
                    file=path,
                    line=mark.line + 1 if mark is not None else None,
                )
            ]
        ) from None


def read_yaml(path: Path | str, *, what: str, max_bytes: int = MAX_DOCUMENT_BYTES) -> Any:
    """``read_text`` then ``loads_yaml``."""
    return loads_yaml(read_text(path, max_bytes=max_bytes, what=what), path)
