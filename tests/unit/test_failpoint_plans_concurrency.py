"""The runner arms simultaneous failpoints from several threads: the plan file survives that."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from chaos import failpoints

WRITERS = 8
WRITES_EACH = 25


def test_concurrent_writers_never_fail_and_leave_a_whole_file(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(WRITERS)

    def write(number: int) -> None:
        start.wait(timeout=10)
        try:
            for _ in range(WRITES_EACH):
                failpoints.write_plans(tmp_path, {f"point-{number}": {"raise": "builtins.OSError"}})
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    content = json.loads((tmp_path / failpoints.PLANS_FILE).read_text())
    assert len(content["plans"]) == 1
    assert list(tmp_path.glob("*.tmp")) == []
