"""The verdict: what one check concluded, in a form a person can act on and a report can store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from chaos.history.model import FaultWindow


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

    @property
    def status(self) -> str:
        return "held" if self.ok else "FAILED"

    def to_dict(self) -> dict[str, Any]:
        return {
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
