"""The plugin's settings as one value: command-line options, ini options, the xdist worker.

Read once per session from the pytest config; fixtures and the scenario collector share it, so a
backend, seed or output directory means the same thing in a fixture and in a scenario item.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from chaos.stack.backends import DEFAULT_BACKEND, backend_names

DEFAULT_SCENARIO_DIRS = ("scenarios",)
SCENARIO_SUFFIXES = (".yaml", ".yml")

_options_key = pytest.StashKey["ChaosOptions"]()


@dataclass(frozen=True)
class ChaosOptions:
    """What ``--chaos-*`` and ``chaos_scenarios`` say, resolved to absolute paths."""

    backend: str
    seed: int | None
    out_dir: Path
    keep: bool
    scenario_dirs: tuple[Path, ...]
    worker_id: str
    """``gw0``, ``gw1``... under pytest-xdist, ``main`` otherwise: each worker its own stack."""
    dilation: float | None = None
    """``--chaos-dilation``: overrides every scenario's ``clock: {dilation: N}`` when given."""

    def run_parent(self) -> Path:
        """Where this process's run directories go (one folder per xdist worker)."""
        return self.out_dir if self.worker_id == "main" else self.out_dir / self.worker_id

    def holds_scenario(self, path: Path) -> bool:
        """True for a scenario file inside one of the configured directories."""
        if path.suffix not in SCENARIO_SUFFIXES:
            return False
        resolved = path.resolve()
        return any(resolved.is_relative_to(folder) for folder in self.scenario_dirs)


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("chaos", "fault injection against a real Celery stack")
    group.addoption("--chaos-backend", choices=backend_names, default=DEFAULT_BACKEND,
                    help="where the stack runs: a registered backend (chaos.stack.backends), "
                         "local processes by default")  # fmt: skip
    group.addoption("--chaos-seed", type=int, default=None, metavar="N",
                    help="seed for every scenario's random choices (default: a new one per run, "
                         "recorded in the run directory for replay)")  # fmt: skip
    group.addoption("--chaos-dilation", type=float, default=None, metavar="N",
                    help="run every scenario's app on a clock N times faster than real time "
                         "(local or docker backend, libfaketime; 1 = real time), overriding the "
                         "scenario's clock: {dilation: N}")  # fmt: skip
    group.addoption("--chaos-out", default=None, metavar="DIR",
                    help="parent of the run directories (default: ROOTDIR/.chaos/runs)")
    group.addoption("--chaos-keep", action="store_true", default=False,
                    help="keep every run directory; by default those of passing tests are "
                         "removed and those of failures kept")  # fmt: skip
    group.addoption("--chaos-docker-hosts", default=None, metavar="URL,URL",
                    help="Docker engines for the docker backend, comma-separated (default: "
                         "CHAOS_DOCKER_HOSTS): xdist worker gwN uses engine N mod count, "
                         "a session without xdist the first")  # fmt: skip
    parser.addini("chaos_scenarios", type="linelist", default=list(DEFAULT_SCENARIO_DIRS),
                  help="directories (relative to the rootdir) whose *.yaml files are collected "
                       "as scenario test items")  # fmt: skip


def options_for(config: pytest.Config) -> ChaosOptions:
    """The session's ChaosOptions (built on first use, then cached in the config's stash)."""
    cached = config.stash.get(_options_key, None)
    if cached is not None:
        return cached
    base = config.inipath.parent if config.inipath else config.rootpath
    out = config.getoption("chaos_out")
    out_dir = Path(out) if out else config.rootpath / ".chaos" / "runs"
    workerinput = getattr(config, "workerinput", None)
    options = ChaosOptions(
        backend=config.getoption("chaos_backend"),
        seed=config.getoption("chaos_seed"),
        out_dir=(out_dir if out_dir.is_absolute() else config.invocation_params.dir / out_dir),
        keep=bool(config.getoption("chaos_keep")),
        scenario_dirs=tuple((base / folder).resolve() for folder in config.getini("chaos_scenarios")),
        worker_id=str(workerinput["workerid"]) if workerinput else "main",
        dilation=config.getoption("chaos_dilation"),
    )
    config.stash[_options_key] = options
    return options
