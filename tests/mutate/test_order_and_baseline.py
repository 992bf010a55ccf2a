"""chaos mutate's cost: scenarios best first for the mutated task (chaos.mutate.order), a mutant
stopped at its first kill, and a scenario's baseline run only before its first kill counts
(chaos.mutate.run.Baselines). Pure: the scenario runner is replaced by a judge that reads the
mutated copy's real source, so what is under test (order, stop, baseline) runs as shipped."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from chaos.errors import StackError
from chaos.inputs import read_yaml
from chaos.mutate.operators import find_mutants
from chaos.mutate.order import nominal_seconds, order_for, relevance
from chaos.mutate.run import Baselines, run_mutants

REPO = Path(__file__).resolve().parents[2]

TASKS = textwrap.dedent(
    """
    from celery import shared_task


    @shared_task(bind=True, max_retries=3)
    def risky(self, order_id):
        try:
            book(order_id)
        except Exception as e:
            raise self.retry(exc=e, countdown=60)


    @shared_task(acks_late=True)
    def label(order_id):
        return order_id
    """
)

#: What each fake scenario still finds in the copy's tasks.py when it holds.
HOLDS_WHILE = {
    "ladder": "@shared_task(bind=True, max_retries=3)\ndef risky",
    "label-kill": "@shared_task(acks_late=True)\ndef label",
    "burst": "",  # holds on anything
}


def _library() -> list[tuple[Path, dict[str, Any]]]:
    paths = sorted((REPO / "scenarios").glob("*.yaml"))
    return [(path, read_yaml(path, what="a scenario")) for path in paths]


def _best(task: str, operator: str) -> tuple[int, set[str]]:
    documents = _library()
    top = relevance(order_for(task, documents, operator)[0][1], task, operator)
    return top, {p.name for p, d in documents if relevance(d, task, operator) == top}


def test_the_library_puts_the_scenarios_that_pin_the_mutated_field_first() -> None:
    assert _best("risky_task", "acks_late") == (4, {"risky-task-retry-ladder.yaml"})
    assert _best("notify_warehouse", "acks_late") == (4, {"notify-warehouse-backoff.yaml"})
    assert _best("notify_warehouse", "retry_backoff") == (4, {"notify-warehouse-backoff.yaml"})
    assert _best("send_invoice_email", "acks_late") == (4, {"failpoint-send-invoice-email.yaml"})
    assert _best("print_shipping_label", "reject_on_worker_lost") == (
        4, {"worker-kill-pool-process-label.yaml"})  # fmt: skip
    top, max_retries = _best("risky_task", "max_retries")
    assert top == 4 and "risky-task-retry-ladder.yaml" in max_retries
    # bind removed: no pin states it, so every scenario that pins risky_task's policy ties
    assert _best("risky_task", "bind") == (3, max_retries)


def test_a_views_mutant_meets_the_scenarios_that_go_through_views_first() -> None:
    ordered = [p.name for p, _ in order_for("view place_order", _library())]
    assert ordered.index("worker-kill-acks-late.yaml") < ordered.index(
        "risky-task-retry-ladder.yaml")  # naive path vs task path only  # fmt: skip


def test_equal_ranks_put_the_shorter_first_then_keep_the_order_given() -> None:
    documents = [
        ("a", {"workload": [{"path": "naive"}]}),
        ("b", {"expect": [{"check": "retries_as_declared", "task": "shop.tasks.risky"}]}),
        ("c", {"faults": [{"type": "failpoint", "name": "shop.risky"}]}),
        ("d", {"expect": [{"check": "retries_as_declared", "task": "risky", "pin": {"x": 1}}]}),
        ("e", {"workload": [{"path": "task", "task": "shop.tasks.other"}]}),
        ("f", {"workload": [{"path": "task", "task": "shop.tasks.risky"}]}),
    ]
    assert [name for name, _ in order_for("risky", documents)] == ["d", "b", "c", "f", "a", "e"]
    assert [name for name, _ in order_for("view place", documents)] == list("abcdef")
    long = {"name": "long", "faults": [{"at": "60s", "for": "15s"}], "drain": "10s"}
    dilated = {**long, "clock": {"dilation": 10}}  # 8.5 s of real time
    short = {"name": "short", "faults": [{"after": "first_task_started + 2s"}], "drain": "8s"}
    assert [nominal_seconds(d) for d in (long, dilated, short)] == [85, 8.5, 10]
    ranked = [("long", long), ("short", short), ("dilated", dilated), ("d", documents[3][1])]
    assert [name for name, _ in order_for("risky", ranked)] == ["d", "dilated", "short", "long"]


@dataclass
class Judge:
    """A stand-in for the stack: a scenario holds while the copy's tasks.py still says what it
    pins (``HOLDS_WHILE``); ``broken`` scenarios fail even on the unmutated project."""

    broken: frozenset[str] = frozenset()
    calls: list[tuple[str, bool]] = field(default_factory=list)

    def __call__(self, document: dict[str, Any], out_dir: Path, seed: int | None) -> Any:
        source = (Path(document["app"]["workdir"]) / "shop" / "tasks.py").read_text()
        name, mutated = document["name"], source != TASKS
        self.calls.append((name, mutated))
        ok = HOLDS_WHILE[name] in source and name not in self.broken
        verdicts = [] if ok else [_Verdict("retries_as_declared", False, f"{name} caught it")]
        return _Result(ok, verdicts)


@dataclass
class _Verdict:
    name: str
    ok: bool
    message: str


@dataclass
class _Result:
    ok: bool
    verdicts: list[_Verdict]


def _scenario(name: str, task: str | None) -> tuple[Path, dict[str, Any]]:
    expect = [{"check": "retries_as_declared", "task": task, "pin": {"acks_late": True}}]
    return Path(f"{name}.yaml"), {"name": name, "expect": expect if task else []}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "app" / "shop").mkdir(parents=True)
    (tmp_path / "app" / "shop" / "tasks.py").write_text(TASKS)
    return tmp_path / "app"


# burst first as given: order_for must move the pinning scenario ahead of it.
DOCUMENTS = [_scenario("burst", None), _scenario("ladder", "risky"),
             _scenario("label-kill", "label")]  # fmt: skip


def _mutants(project: Path, *ids: str) -> list:
    chosen = {m.id: m for m in find_mutants(project)}
    return [chosen[i] for i in ids]


def test_a_kill_stops_the_mutant_and_only_the_killing_scenarios_baseline_runs(
    project: Path, tmp_path: Path
) -> None:
    judge = Judge()
    baselines = Baselines(project, tmp_path / "runs", None, run=judge)
    mutants = _mutants(project, "risky/max_retries/1", "risky/max_retries/2", "label/acks_late/1",
                       "risky/countdown/1")  # fmt: skip
    results = run_mutants(mutants, DOCUMENTS, baselines, run=judge)

    assert [(r.outcome, r.scenario) for r in results] == [
        ("killed", "ladder.yaml"), ("killed", "ladder.yaml"), ("killed", "label-kill.yaml"),
        ("survived", None),  # the fake ladder does not look at the countdown
    ]  # fmt: skip
    assert results[0].message == "retries_as_declared: ladder caught it"
    assert judge.calls == [
        ("ladder", True), ("ladder", False),  # killed first try; its baseline, once
        ("ladder", True),  # the second kill reuses it
        ("label-kill", True), ("label-kill", False),
        ("ladder", True), ("burst", True), ("label-kill", True),  # a survivor: all, no baseline
    ]
    assert baselines.held == ["ladder.yaml", "label-kill.yaml"]  # burst never needed one


def test_a_kill_by_a_scenario_that_fails_unmutated_is_exit_3_naming_it(
    project: Path, tmp_path: Path
) -> None:
    judge = Judge(broken=frozenset({"ladder"}))
    baselines = Baselines(project, tmp_path / "runs", None, run=judge)
    with pytest.raises(StackError, match="ladder.yaml does not hold on the unmutated project"):
        run_mutants(_mutants(project, "risky/bind/1"), DOCUMENTS, baselines, run=judge)
    assert baselines.held == []


def test_baseline_first_runs_every_scenario_once_before_any_mutant(
    project: Path, tmp_path: Path
) -> None:
    judge = Judge()
    baselines = Baselines(project, tmp_path / "runs", None, run=judge)
    baselines.require_all(DOCUMENTS)
    assert judge.calls == [("burst", False), ("ladder", False), ("label-kill", False)]
    judge.calls.clear()

    (result,) = run_mutants(_mutants(project, "label/acks_late/1"), DOCUMENTS, baselines, run=judge)

    assert result.outcome == "killed"
    assert judge.calls == [("label-kill", True)]  # its baseline already held


def test_an_equivalent_mutant_runs_nothing(project: Path, tmp_path: Path) -> None:
    judge = Judge()
    baselines = Baselines(project, tmp_path / "runs", None, run=judge)
    (result,) = run_mutants(_mutants(project, "risky/bind/1"), DOCUMENTS, baselines,
                            equivalent=frozenset({"risky/bind/1"}), run=judge)  # fmt: skip
    assert result.outcome == "equivalent" and judge.calls == []
