"""Without an optional extra installed, the part that needs it says which extra to install.

Each test runs a fresh interpreter whose import system refuses the extra's modules (a meta-path
blocker installed before anything imports them), as a ``pip install celery-chaos`` without the
extra would leave it.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

BLOCKER = """
import sys

class _NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, _NotInstalled())
"""


def _run_without(modules: set[str], code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    script = f"BLOCKED = {sorted(modules)!r}\n{BLOCKER}\n{textwrap.dedent(code)}"
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )


DOCKER = {"testcontainers", "docker"}


def test_docker_backend_without_its_extra_is_a_stack_error_with_the_install_hint(
    tmp_path: Path,
) -> None:
    result = _run_without(DOCKER, """
        from chaos.errors import StackError
        from chaos.stack import open_stack
        try:
            open_stack(backend="docker")
        except StackError as exc:
            print("StackError:", exc)
    """, tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("StackError: docker backend:")
    assert "'testcontainers' is not installed" in result.stdout or "'docker'" in result.stdout
    assert 'pip install "celery-chaos[docker]"' in result.stdout


def test_chaos_images_without_the_docker_extra_exits_3_with_the_hint(tmp_path: Path) -> None:
    result = _run_without(DOCKER, """
        import sys
        from chaos.cli import main
        sys.exit(main(["images"]))
    """, tmp_path)  # fmt: skip
    assert result.returncode == 3
    assert 'pip install "celery-chaos[docker]"' in result.stderr
    assert "Traceback" not in result.stderr


def test_report_without_matplotlib_exits_2_with_the_reports_hint(
    recorded_run: Path, tmp_path: Path
) -> None:
    result = _run_without({"matplotlib"}, f"""
        import sys
        from chaos.cli import main
        sys.exit(main(["report", {str(recorded_run)!r}]))
    """, tmp_path)  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert 'pip install "celery-chaos[reports]"' in result.stderr
    assert "Traceback" not in result.stderr


def test_the_core_commands_need_no_extra(recorded_run: Path, tmp_path: Path) -> None:
    every_extra = DOCKER | {"matplotlib", "toxiproxy", "hypothesis", "xdist", "uvloop", "orjson"}
    result = _run_without(every_extra, f"""
        import sys
        import chaos, chaos.pytest.plugin, chaos.stack.local, chaos.runner, chaos.proxy
        from chaos.cli import main
        sys.exit(main(["check", {str(recorded_run)!r}, "--json"]))
    """, tmp_path)  # fmt: skip
    assert result.returncode == 1, result.stderr  # the recorded run lost a task: a verdict
    assert '"name": "delivery"' in result.stdout
