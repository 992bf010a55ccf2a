"""The README's pytest example, verbatim, against a real stack of the reference app.

If this fails, the README is lying to its readers.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chaos.pytest.assertions import assert_no_lost

README = Path(__file__).resolve().parents[1] / "README.md"

pytestmark = pytest.mark.chaos


def test_latency_does_not_lose_invoices(proxy, chaos_producer, journal):
    with proxy.toxic("latency", latency=500, jitter=100):
        sent = [
            chaos_producer.send("shop.tasks.send_invoice_email", [n], key=f"order={n}")
            for n in range(5)
        ]
    for outcome in sent:
        journal.wait_for_task(outcome.task_id, timeout=60)
    assert_no_lost(journal)


def test_the_readme_shows_this_example_verbatim() -> None:
    source = Path(__file__).read_text()
    example = re.search(
        r"def test_latency_does_not_lose_invoices.*?assert_no_lost\(journal\)\n", source, re.S
    )
    assert example is not None
    assert example.group(0) in README.read_text()
