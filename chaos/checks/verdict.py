"""The verdict: what one check concluded, in a form a person can act on and a report can store;
and the findings a check's rules return, with the one way they become a verdict."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from chaos.history.model import FaultWindow, RunHistory


@dataclass
class Verdict:
    """One check's conclusion: the promise (expected), what the history shows (observed), and a
    one-line message naming the tasks and the fault windows around them."""

    name: str
    ok: bool
    expected: str
    observed: str
    message: str
    tasks: list[str] = field(default_factory=list)
    fault_windows: list[FaultWindow] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    known_broken: str | None = None
    """Why the scenario expects this promise not to hold, and the fix (``chaos.checks.promises``):
    then ``ok`` with it is KNOWN BROKEN, and not ``ok`` means it holds now."""
    unexercised: list[str] = field(default_factory=list)
    """Why the run did not test what this verdict promises (``chaos.checks.judge``): with ``ok``
    False the status is "not exercised"; with ``ok`` the scenario allowed it."""

    @property
    def status(self) -> str:
        if self.known_broken is not None and self.ok:
            return "KNOWN BROKEN"
        if self.ok:
            return "held"
        return "not exercised" if self.unexercised else "FAILED"

    def to_dict(self) -> dict[str, Any]:
        record = {
            "name": self.name,
            "ok": self.ok,
            "expected": self.expected,
            "observed": self.observed,
            "message": self.message,
            "tasks": list(self.tasks),
            "fault_windows": [w.to_dict() for w in self.fault_windows],
            "details": self.details,
            "params": self.params,
        }
        if self.known_broken is not None:  # only then: older reports and digests stay as they were
            record["known_broken"] = self.known_broken
            record["status"] = self.status
        if self.unexercised:
            record["unexercised"] = list(self.unexercised)
        return record

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> Verdict:
        """A verdict read back from report.json (replay compares them)."""
        windows = [
            FaultWindow(
                fault_id=str(w["fault_id"]),
                type=str(w["type"]),
                target=str(w["target"]),
                start=float(w["start"]),
                end=None if w.get("end") is None else float(w["end"]),
                params=w.get("params") or {},
                how=w.get("how"),
            )
            for w in record.get("fault_windows", [])
        ]
        return cls(
            name=record["name"],
            ok=bool(record["ok"]),
            expected=record.get("expected", ""),
            observed=record.get("observed", ""),
            message=record.get("message", ""),
            tasks=list(record.get("tasks", [])),
            fault_windows=windows,
            details=dict(record.get("details", {})),
            params=dict(record.get("params", {})),
            known_broken=record.get("known_broken"),
            unexercised=list(record.get("unexercised") or []),
        )


def unique_windows(windows: Sequence[FaultWindow]) -> list[FaultWindow]:
    """Windows in first-seen order without repeats (several tasks often share one window)."""
    seen: set[str] = set()
    result = []
    for window in windows:
        if window.fault_id not in seen:
            seen.add(window.fault_id)
            result.append(window)
    return result


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule a history broke, as a person reads it: the message, the task it is about (None:
    the run as a whole) and the fault windows that explain it."""

    message: str
    task_id: str | None = None
    fault_windows: tuple[FaultWindow, ...] = ()


#: What a rule returns when the history keeps it (most of the time: one shared empty tuple).
NO_FINDINGS: tuple[Finding, ...] = ()


def in_task_order(history: RunHistory, *findings_by_rule: Sequence[Finding]) -> list[Finding]:
    """Findings of rules that each went through every task, merged into the history's task
    order; a task's findings keep the order of the rules, then each rule's own order."""
    merged = [f for findings in findings_by_rule for f in findings]
    if len(findings_by_rule) < 2 or not merged:
        return merged
    position = {task_id: index for index, task_id in enumerate(history.tasks)}
    return sorted(merged, key=lambda f: position.get(f.task_id, -1))  # stable


def messages_by_task(findings: Iterable[Finding]) -> dict[str, list[str]]:
    """The messages about tasks, grouped by task in first-seen order (a verdict's details)."""
    grouped: dict[str, list[str]] = {}
    for finding in findings:
        if finding.task_id is not None:
            grouped.setdefault(finding.task_id, []).append(finding.message)
    return grouped


def quote(findings: Sequence[Finding]) -> str:
    """``first message (and 2 more)``: how a verdict's message speaks of several findings."""
    if not findings:
        return ""
    message = findings[0].message
    if len(findings) > 1:
        message += f" (and {len(findings) - 1} more)"
    return message


def verdict_from_findings(
    name: str,
    findings: Sequence[Finding],
    *,
    expected: str,
    observed: str,
    held: str,
    tasks: list[str] | None = None,
    fault_windows: Sequence[FaultWindow] | None = None,
    details: dict[str, Any] | None = None,
    count_others: bool = True,
) -> Verdict:
    """The verdict of a check whose rules returned ``findings``: held (message ``held``) when
    there are none; else failed, quoting the first finding and counting the others ("(and 2
    more)") unless ``count_others`` is off. Tasks and fault windows default to those the
    findings name, in first-seen order, without repeats."""
    if findings:
        message = quote(findings) if count_others else findings[0].message
    else:
        message = held
    if tasks is None:
        tasks = list(dict.fromkeys(f.task_id for f in findings if f.task_id is not None))
    if fault_windows is None:
        fault_windows = [w for f in findings for w in f.fault_windows]
    return Verdict(
        name=name,
        ok=not findings,
        expected=expected,
        observed=observed,
        message=message,
        tasks=tasks,
        fault_windows=unique_windows(fault_windows),
        details={} if details is None else details,
    )
