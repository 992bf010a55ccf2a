"""``chaos mutate`` on the reference app, for real: each planted bug is killed by the verdict that
names its promise, the killing scenario's baseline holds, and the user's tree is untouched."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "scenarios" / "failpoint-send-invoice-email.yaml"


def _tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + path.read_bytes())
    return digest.hexdigest()


def test_planted_policy_bugs_are_killed_with_the_promise_they_break(tmp_path: Path) -> None:
    before = _tree_digest(REPO / "app")
    finished = subprocess.run(
        [sys.executable, "-m", "chaos", "mutate", str(SCENARIO), "--task", "send_invoice_email",
         "--task", "view-place_order", "--out", str(tmp_path), "--json", "--min-score", "100"],
        capture_output=True, text=True, timeout=300, cwd=REPO, check=False,
    )  # fmt: skip
    assert finished.returncode == 0, finished.stderr[-2000:] + finished.stdout[-2000:]
    report = json.loads(finished.stdout[finished.stdout.index("{"):])
    outcomes = {r["id"]: (r["outcome"], r["message"]) for r in report["results"]}
    assert set(outcomes) == {"send_invoice_email/acks_late/1", "view-place_order/delay/1"}
    outcome, message = outcomes["send_invoice_email/acks_late/1"]
    assert outcome == "killed" and "acks_late=true, the scenario pins false" in message
    outcome, message = outcomes["view-place_order/delay/1"]
    assert outcome == "killed" and "sent no task" in message, message
    assert report["score"] == 1.0
    # lazy baseline: the one scenario that killed ran once on the unmutated copy, and held
    assert report["baseline"]["mode"] == "lazy"
    assert report["baseline"]["held"] == ["failpoint-send-invoice-email.yaml"]
    assert _tree_digest(REPO / "app") == before  # mutants live in copies only
