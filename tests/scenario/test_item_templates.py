"""A stream's per-message arguments: ``{n}`` is each message's index; anything else is refused
at its line before a run starts (chaos.item_templates)."""

from __future__ import annotations

import pytest

from chaos.errors import ConfigError
from chaos.item_templates import render, template_problem
from chaos.scenario import load_scenario_text
from chaos.scenario.timeline import resolve_timeline

STREAM = """name: t
workload:
  - path: task
    task: shop.tasks.send_invoice_email
    count: 3
    args: {args}
    countdown: 2s
    queue: invoices
expect: [{{check: no_lost}}]
"""


def test_n_alone_is_the_integer_and_inside_text_it_is_formatted() -> None:
    value = {"order": "{n}", "ref": "order-{n:03d}", "literal": "{{n}}", "nested": ["{n}", 7]}
    assert render(value, 7) == {"order": 7, "ref": "order-007", "literal": "{n}", "nested": [7, 7]}


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{m}", "unknown placeholder {m}"),
        ("{n", "not a valid template"),
        ("{n:q}", "cannot be formatted"),
    ],
)
def test_a_bad_template_says_what_is_wrong(text: str, words: str) -> None:
    assert words in (template_problem(text) or "")


def test_a_bad_template_in_a_scenario_names_its_line_and_path() -> None:
    with pytest.raises(ConfigError) as caught:
        load_scenario_text(STREAM.format(args='["{n}", "x-{m}"]'), path="s.yaml")
    assert "s.yaml:6:" in str(caught.value) and "workload[0].args[1]" in str(caught.value)


def test_publish_options_reach_the_resolved_stream() -> None:
    scenario = load_scenario_text(STREAM.format(args='["{n}"]'), path="s.yaml").scenario
    (stream,) = resolve_timeline(scenario, seed=1).workload
    assert stream.options == {"countdown": 2.0, "queue": "invoices"}
