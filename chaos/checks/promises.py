"""Known breakage: a scenario that documents a promise the app does not keep says so.

``known_broken: "why, and the fix"`` on an expectation (or on the whole scenario) turns that
expectation's failure into a KNOWN BROKEN verdict that passes the gate, so the library can show
what really happens without a red build; and it turns the expectation *holding* into a failure
("now holds: remove known_broken"), so a fix cannot go unnoticed and the note cannot go stale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chaos.checks.verdict import Verdict
from chaos.errors import Problem

#: The key an expectation (or a scenario) gives its known breakage under.
KEY = "known_broken"
#: The verdict status of a failure the scenario expects.
KNOWN_BROKEN = "KNOWN BROKEN"
#: The start of the message of a known-broken promise that holds after all.
NOW_HOLDS = "now holds: remove known_broken"


def known_broken_problems(value: Any, field_path: str = KEY) -> list[Problem]:
    """What is wrong with a ``known_broken`` value: it must say why (and the fix) as text."""
    if isinstance(value, str) and value.strip():
        return []
    given = repr(value) if not isinstance(value, str) else "an empty string"
    return [
        Problem(
            "known_broken must say why the promise does not hold, and the fix",
            field_path=field_path,
            given=given,
            expected='a string, e.g. known_broken: "publishes refused during the outage are '
            'dropped; fix: a transactional outbox"',
        )
    ]


def split_known_broken(entry: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """An expectation without its ``known_broken`` key, and the reason (None: none given)."""
    params = dict(entry)
    reason = params.pop(KEY, None)
    return params, reason


def apply_known_broken(verdict: Verdict, reason: str | None) -> Verdict:
    """The verdict of an expectation marked known broken: its failure passes the gate as KNOWN
    BROKEN; its success fails the gate with "now holds". Unmarked verdicts are unchanged, and so
    is one the run did not exercise: that it "failed" says nothing about the promise."""
    if reason is None or (verdict.unexercised and not verdict.ok):
        return verdict
    verdict.known_broken = reason
    if verdict.ok:
        verdict.ok = False
        verdict.message = f"{NOW_HOLDS} ({reason}); the check says: {verdict.message}"
    else:
        verdict.ok = True
    return verdict


def apply_scenario_known_broken(verdicts: Sequence[Verdict], reason: str | None) -> list[Verdict]:
    """A scenario known broken as a whole: each failed expectation is KNOWN BROKEN; when none
    failed, a failing ``known_broken`` verdict is added ("now holds")."""
    verdicts = list(verdicts)
    if reason is None:
        return verdicts
    failed = [v for v in verdicts if not v.ok and not v.unexercised]
    for verdict in failed:
        verdict.known_broken = reason
        verdict.ok = True
    if not failed and all(v.ok for v in verdicts):
        verdicts.append(
            Verdict(
                name=KEY,
                ok=False,
                expected=f"at least one expectation fails ({reason})",
                observed=f"all {len(verdicts)} expectations held",
                message=f"{NOW_HOLDS} from the scenario ({reason})",
                known_broken=reason,
            )
        )
    return verdicts


def known_broken_count(verdicts: Sequence[Verdict]) -> int:
    """How many verdicts are KNOWN BROKEN (failed as the scenario says they do)."""
    return sum(1 for v in verdicts if v.status == KNOWN_BROKEN)
