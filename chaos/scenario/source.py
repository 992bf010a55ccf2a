"""YAML read into plain Python values plus where each value sits in the file.

PyYAML's composer keeps a line and column on every node; the constructed objects lose them. We
build the values from the nodes ourselves so that every later error (pydantic's, or a semantic
check's) can point at ``file:line:column``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from chaos.errors import ConfigError, Problem
from chaos.inputs import MAX_SCENARIO_BYTES, check_text_size, compose_yaml, read_text

FieldPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Position:
    line: int
    column: int


@dataclass
class SourceDocument:
    """A scenario file's values with the position of every value and every mapping key."""

    path: Path
    text: str
    values: Any
    value_positions: dict[FieldPath, Position] = field(default_factory=dict)
    key_positions: dict[FieldPath, Position] = field(default_factory=dict)

    def position(self, path: FieldPath, *, prefer_key: bool = False) -> Position | None:
        """The nearest known position for ``path``, walking up to a parent when it is absent."""
        current = tuple(path)
        while True:
            if prefer_key and current in self.key_positions:
                return self.key_positions[current]
            if current in self.value_positions:
                return self.value_positions[current]
            if current in self.key_positions:
                return self.key_positions[current]
            if not current:
                return None
            current = current[:-1]

    def problem(
        self,
        path: FieldPath,
        message: str,
        *,
        given: str | None = None,
        expected: str | None = None,
        hint: str | None = None,
        prefer_key: bool = False,
    ) -> Problem:
        where = self.position(path, prefer_key=prefer_key)
        return Problem(
            message,
            file=self.path,
            line=where.line if where else None,
            column=where.column if where else None,
            field_path=format_field_path(path) or None,
            given=given,
            expected=expected,
            hint=hint,
        )


def format_field_path(path: FieldPath) -> str:
    """``faults[1].for`` for ``("faults", 1, "for")``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _mark(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    def __init__(self, document: SourceDocument) -> None:
        self.document = document
        self.scalars = yaml.SafeLoader("")
        self.problems: list[Problem] = []

    def build(self, node: yaml.Node, path: FieldPath) -> Any:
        self.document.value_positions[path] = _mark(node)
        if isinstance(node, yaml.MappingNode):
            mapping: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    self.problems.append(
                        self.document.problem(path, "YAML merge keys (<<) are not supported")
                    )
                    continue
                key = (
                    self.scalars.construct_object(key_node)
                    if isinstance(key_node, yaml.ScalarNode)
                    else None
                )
                if not isinstance(key, (str, int, float, bool)) or isinstance(key, bool):
                    where = _mark(key_node)
                    self.problems.append(
                        Problem(
                            "a key must be a plain word",
                            file=self.document.path,
                            line=where.line,
                            column=where.column,
                            field_path=format_field_path(path) or None,
                        )
                    )
                    continue
                key = str(key)
                child = (*path, key)
                if key in mapping:
                    where = _mark(key_node)
                    self.problems.append(
                        Problem(
                            f"key {key!r} appears twice",
                            file=self.document.path,
                            line=where.line,
                            column=where.column,
                            field_path=format_field_path(child),
                            hint="keep one; YAML would silently use the last",
                        )
                    )
                    continue
                self.document.key_positions[child] = _mark(key_node)
                mapping[key] = self.build(value_node, child)
            return mapping
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
        return self.scalars.construct_object(node)


def read_source(path: Path | str) -> tuple[SourceDocument | None, list[Problem]]:
    """Parse ``path``; problems (unreadable or oversized file, bad YAML, nesting or aliases beyond
    the limits of ``chaos.inputs``, duplicate keys) instead of raising."""
    path = Path(path)
    try:
        text = read_text(path, max_bytes=MAX_SCENARIO_BYTES, what="a scenario")
    except ConfigError as exc:
        return None, exc.problems
    return parse_source(text, path)


def yaml_error_problem(exc: yaml.MarkedYAMLError, text: str, path: Path) -> Problem:
    """PyYAML's error, placed on the line a person has to edit.

    PyYAML reports where it stopped, which for an unclosed construct is the line after the
    culprit: a quoted scalar or a simple key left open is reported at the next line or at the
    end of the file, and a flow mapping or sequence missing its ``}``/``]`` or a comma runs on
    into the next line's key. Scanner errors carry the construct's own start (the context mark);
    for a flow collection, the culprit is the last token read before the one that broke it.
    """
    reason = exc.problem or exc.context or "not valid YAML"
    mark = exc.problem_mark or exc.context_mark
    if mark is None:
        return Problem(f"not valid YAML: {reason}", file=path)
    line, column = mark.line + 1, mark.column + 1
    context = exc.context or ""
    culprit: tuple[int, int] | None = None
    if (
        isinstance(exc, yaml.scanner.ScannerError)
        and exc.context_mark is not None
        and context.startswith("while scanning a")
    ):
        culprit = (exc.context_mark.line + 1, exc.context_mark.column + 1)
    elif isinstance(exc, yaml.parser.ParserError) and context.startswith("while parsing a flow"):
        before = _line_of_token_before(text, mark.index)
        if before is not None and before < line:
            culprit = (before, len(text.splitlines()[before - 1].rstrip()) + 1)
    if culprit is None or culprit[0] == line:
        return Problem(f"not valid YAML: {reason}", file=path, line=line, column=column)
    started = (
        f", {context} that starts at line {exc.context_mark.line + 1}" if exc.context_mark else ""
    )
    return Problem(
        f"not valid YAML: {reason}",
        file=path,
        line=culprit[0],
        column=culprit[1],
        hint=f"the parser noticed it at line {line}, column {column}{started}",
    )


def _line_of_token_before(text: str, index: int) -> int | None:
    """The line (1-based) where the last token that starts before ``index`` starts."""
    line = None
    try:
        for token in yaml.scan(text[:index], Loader=yaml.SafeLoader):
            if isinstance(token, (yaml.StreamStartToken, yaml.StreamEndToken)):
                continue
            line = token.start_mark.line + 1
    except yaml.YAMLError:
        pass  # the text up to the error scanned as far as it could
    return line


def parse_source(text: str, path: Path | str) -> tuple[SourceDocument | None, list[Problem]]:
    path = Path(path)
    try:
        check_text_size(text, path, max_bytes=MAX_SCENARIO_BYTES, what="a scenario")
        nodes = compose_yaml(text, path)
    except ConfigError as exc:
        return None, exc.problems
    except yaml.MarkedYAMLError as exc:
        return None, [yaml_error_problem(exc, text, path)]
    except yaml.YAMLError as exc:
        return None, [Problem(f"not valid YAML: {exc}", file=path)]
    nodes = [node for node in nodes if node is not None]
    if not nodes:
        return None, [Problem("the file is empty", file=path, expected="a scenario mapping")]
    if len(nodes) > 1:
        where = _mark(nodes[1])
        return None, [
            Problem(
                "one scenario a file: found a second YAML document",
                file=path,
                line=where.line,
                column=where.column,
            )
        ]
    document = SourceDocument(path=path, text=text, values=None)
    builder = _Builder(document)
    try:
        document.values = builder.build(nodes[0], ())
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        return None, [
            Problem(
                f"not valid YAML: {exc.problem}",
                file=path,
                line=mark.line + 1 if mark else None,
                column=mark.column + 1 if mark else None,
            )
        ]
    if not isinstance(document.values, dict):
        where = _mark(nodes[0])
        builder.problems.append(
            Problem(
                "a scenario is a mapping of fields",
                file=path,
                line=where.line,
                column=where.column,
                given=type(document.values).__name__,
                expected="name:, workload:, faults:, expect: ...",
            )
        )
        return None, builder.problems
    return document, builder.problems
