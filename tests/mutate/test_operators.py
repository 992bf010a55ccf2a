"""Celery-policy mutants of a project's sources (chaos.mutate.operators): each names its promise,
plants exactly one change, and leaves valid Python."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from chaos.mutate.operators import find_mutants
from chaos.mutate.run import MutantResult, score

TASKS = textwrap.dedent(
    """
    from celery import shared_task


    @shared_task
    def plain(order_id):
        return order_id


    @shared_task(bind=True, max_retries=3)
    def risky(self, order_id):
        try:
            book(order_id)
        except Exception as e:
            raise self.retry(exc=e, countdown=60)


    @shared_task(
        autoretry_for=(KeyError,),
        retry_backoff=True,
        retry_backoff_max=60,
        max_retries=5,
    )
    def backoff(order_id):
        return order_id


    @shared_task(acks_late=True)
    def label(order_id):
        return order_id


    @shared_task(bind=True)
    def poll(self, order_id):
        if not ready(order_id):
            return self.retry(countdown=5)
    """
)

VIEWS = textwrap.dedent(
    """
    def place(request):
        plain.delay(1)
        return None
    """
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "tasks.py").write_text(TASKS)
    (tmp_path / "shop" / "views.py").write_text(VIEWS)
    (tmp_path / ".venv" / "x").mkdir(parents=True)
    (tmp_path / ".venv" / "x" / "tasks.py").write_text(TASKS)  # never scanned
    return tmp_path


def test_every_operator_of_the_issue_is_found_with_its_promise(project: Path) -> None:
    promises = {m.id: m.promise for m in find_mutants(project)}
    assert promises["risky/max_retries/1"] == "risky declares max_retries=2 (was 3)"
    assert promises["risky/max_retries/2"] == "risky declares max_retries=4 (was 3)"
    assert promises["risky/countdown/1"] == "risky: self.retry(...) countdown=6 (was 60)"
    assert promises["risky/countdown/2"] == "risky: self.retry(...) countdown=600 (was 60)"
    assert promises["risky/bind/1"] == "risky: bind=True removed"
    assert promises["poll/retry_throw/1"] == "poll: self.retry(..., throw=False)"
    # raise self.retry(..., throw=False) raises the Retry the call returns: equivalent, not planted
    assert "risky/retry_throw/1" not in promises
    assert promises["risky/swallow/1"] == "risky: the exception is swallowed (no retry)"
    assert promises["backoff/autoretry_for/1"] == "backoff: autoretry_for emptied"
    assert promises["backoff/retry_backoff/1"] == "backoff: retry_backoff removed"
    assert promises["label/acks_late/1"] == "label declares acks_late=False"
    assert promises["label/reject_on_worker_lost/1"] == (
        "label declares reject_on_worker_lost=True (it did not say)"
    )
    assert promises["plain/acks_late/1"] == "plain declares acks_late=True (it did not say)"
    assert promises["view-place/delay/1"] == "view place no longer sends plain"
    # reject_on_worker_lost changes nothing without acks_late: no such (equivalent) mutant
    assert not any(i.startswith(("plain/reject", "risky/reject", "backoff/reject"))
                   for i in promises)  # fmt: skip
    assert all(".venv" not in m.file for m in find_mutants(project))


def test_each_mutant_is_one_change_that_still_parses(project: Path) -> None:
    for mutant in find_mutants(project):
        before = (project / mutant.file).read_text()
        after = mutant.apply(before)
        ast.parse(after)
        changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=False)
                   if a != b]  # fmt: skip
        assert len(changed) == 1 or mutant.operator == "swallow", (mutant.id, changed)


def test_a_keyword_is_added_before_a_trailing_comma(project: Path) -> None:
    (mutant,) = [m for m in find_mutants(project) if m.id == "backoff/acks_late/1"]
    after = mutant.apply((project / mutant.file).read_text())
    assert "    max_retries=5, acks_late=True,\n)" in after


def test_the_score_leaves_out_equivalents_and_errors(project: Path) -> None:
    mutants = find_mutants(project)[:5]
    outcomes = ["killed", "killed", "survived", "equivalent", "error"]
    results = [MutantResult(m, o) for m, o in zip(mutants, outcomes, strict=True)]
    assert score(results) == pytest.approx(2 / 3)
    assert score(results[3:]) is None
