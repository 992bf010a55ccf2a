"""A YAML syntax error names the line a person has to edit, not the line where PyYAML stopped."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.errors import ConfigError
from chaos.scenario import load_scenario

# (file text, culprit line, culprit column or None): the culprit is where the fix goes.
MALFORMED = {
    "unclosed-flow-mapping": ("name: x\nseed: 1\nfaults: [ {id: a, type: broker.kill\nexpect:\n  - {check: no_lost}\n", 3, None),
    "unclosed-flow-sequence": ("name: x\nkey: [1, 2\n\n\nexpect: []\n", 2, None),
    "missing-comma-in-flow": ("name: x\nfaults: [\n  {id: a, type: broker.kill}\n  {id: b, type: broker.kill},\n]\n", 3, None),
    "unclosed-inner-mapping": ("name: x\nfaults: [\n  {id: a, type: broker.kill},\n  {id: b, type: broker.kill\n]\n", 4, None),
    "unclosed-quote": ('name: "abc\nseed: 1\nexpect: []\n', 1, 7),
    "key-without-colon": ("name: x\nseed 1\nexpect: []\n", 2, 1),
    "over-indented-key": ("name: x\nseed: 1\n  workers: 2\nexpect: []\n", 3, None),
    "badly-indented-item": ("name: x\nexpect:\n- {check: no_lost}\n  - {check: sanity}\n", 4, 3),
    "tab-indentation": ("name: x\nseed: 1\n\tworkers: 2\nexpect: []\n", 3, 1),
}  # fmt: skip


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_yaml_syntax_error_names_the_culprit_line(case: str, tmp_path: Path) -> None:
    text, line, column = MALFORMED[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_scenario(path)
    [problem] = error.value.problems
    assert problem.message.startswith("not valid YAML")
    assert problem.line == line, str(problem)
    if column is not None:
        assert problem.column == column, str(problem)


def test_a_moved_error_still_says_where_the_parser_stopped(tmp_path: Path) -> None:
    path = tmp_path / "unclosed.yaml"
    path.write_text("name: x\ntopology: {workers: 1\nexpect: []\n")
    with pytest.raises(ConfigError) as error:
        load_scenario(path)
    [problem] = error.value.problems
    assert (problem.line, problem.column) == (2, 22)  # the end of the line missing its "}"
    assert "noticed it at line 3, column 7" in str(problem)
    assert "flow mapping that starts at line 2" in str(problem)
