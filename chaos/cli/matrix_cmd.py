"""``chaos matrix SCENARIO_OR_DIR... --versions SET --versions SET``: the upgrade gate.

Runs the same scenarios (same seed) under each version set, each in its own cached venv, and
exits 1 when a target set breaks a promise the baseline (the first set, or ``--baseline N``) kept.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from chaos.errors import ConfigError

EXAMPLE = """example:
  chaos matrix scenarios/proxy-down.yaml \\
      --versions "celery==5.6.2 kombu==5.6.2" --versions "celery==5.7.0 kombu==5.7.0"

Each set gets a virtualenv cached under ~/.cache/celery-chaos/venvs ($CHAOS_CACHE_DIR/venvs),
keyed by the set, requirements.lock and pyproject.toml; the project is installed into it
(editable) with the rest of the lock where compatible. Exit codes: 0 no target broke a promise
the baseline kept, 1 one did, 2 bad input, 3 a venv could not be built or a run did not finish."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "matrix",
        help="run scenarios under several celery/kombu/redis-py version sets and compare",
        description="Run the scenarios under each version set (each in its own cached venv) "
        "and compare every set's verdicts with the baseline's.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("targets", nargs="+", metavar="SCENARIO_OR_DIR")
    parser.add_argument("--versions", action="append", required=True, metavar="REQUIREMENTS",
                        help="a version set, e.g. \"celery==5.6.2 kombu==5.6.2\" (repeat; "
                             "at least two)")  # fmt: skip
    parser.add_argument("--baseline", type=int, default=0, metavar="N",
                        help="which --versions set the others are compared with (default 0)")
    parser.add_argument("--backend", default="local", choices=("local", "docker"))
    parser.add_argument("--seed", type=int, default=None,
                        help="seed for every set (default: each scenario's own)")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="where run directories go (default: .chaos/matrix/<time>)")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE",
                        help="write the matrix and its diff against the baseline as JSON")
    parser.set_defaults(func=run)


def project_root() -> Path:
    """The source checkout ``chaos`` is imported from: what each venv installs."""
    import chaos

    root = Path(chaos.__file__).resolve().parent.parent
    if not (root / "pyproject.toml").exists():
        raise ConfigError("chaos matrix installs the project into each venv and needs its "
                          f"source checkout; none found at {root}")  # fmt: skip
    return root


def child_env(venv_path: Path) -> dict[str, str]:
    """The environment for ``chaos run`` in a venv: its bin first, no outer venv leaking in."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME")}
    env["VIRTUAL_ENV"] = str(venv_path)
    env["PATH"] = os.pathsep.join([str(venv_path / "bin"), env.get("PATH", "")])
    return env


def run(args: argparse.Namespace) -> int:
    from chaos.cli.run_cmd import wide_console
    from chaos.matrix.comparing import CellResult, compare
    from chaos.matrix.rendering import change_lines, matrix_table
    from chaos.matrix.running import run_cell
    from chaos.matrix.venvs import VersionSet, ensure_venv
    from chaos.scenario import load_scenario, scenario_files

    sets = [VersionSet.parse(text) for text in args.versions]
    labels = [version_set.label for version_set in sets]
    if len(sets) < 2:
        raise ConfigError("chaos matrix needs at least two --versions sets to compare")
    if len(set(labels)) != len(labels):
        raise ConfigError("chaos matrix: the same --versions set is given twice")
    if not 0 <= args.baseline < len(sets):
        raise ConfigError(f"--baseline {args.baseline}: there are {len(sets)} sets (0 to "
                          f"{len(sets) - 1})")  # fmt: skip
    files = scenario_files(args.targets)
    problems = []
    for path in files:
        try:
            load_scenario(path)
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    console = wide_console()
    root = project_root()
    out = args.out or Path(".chaos") / "matrix" / time.strftime("%Y%m%dT%H%M%S")
    venvs = {}
    for version_set in sets:
        venv = ensure_venv(version_set, root)
        how = "cached" if venv.cached else f"built in {venv.build_seconds:.1f} s ({venv.tool})"
        console.print(f"venv {version_set.label}: {how}: {venv.path}", highlight=False)
        for note in venv.notes:
            console.print(f"  note: {note}", highlight=False)
        venvs[version_set.label] = venv
    cells: dict[str, dict[str, CellResult]] = {}
    for path in files:
        row = cells.setdefault(path.stem, {})
        for version_set in sets:
            venv = venvs[version_set.label]
            row[version_set.label] = cell = run_cell(
                venv, path, out / version_set.slug, backend=args.backend, seed=args.seed,
                env=child_env(venv.path),
            )  # fmt: skip
            console.print(f"{path.stem} on {version_set.label}: {cell.status} "
                          f"({cell.seconds:.1f} s)", highlight=False)  # fmt: skip
    outcome = compare(cells, labels, baseline=args.baseline)
    versions = {label: venv.versions for label, venv in venvs.items()}
    console.print(matrix_table(outcome, versions))
    for line in change_lines(outcome):
        console.print(line, highlight=False)
    if args.json is not None:
        document = outcome.to_json()
        document["venvs"] = {
            label: {"path": str(venv.path), "versions": venv.versions, "cached": venv.cached,
                    "build_seconds": venv.build_seconds, "constrained": venv.constrained}
            for label, venv in venvs.items()
        }  # fmt: skip
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(document, indent=2))
        console.print(f"JSON: {args.json}", highlight=False)
    return outcome.exit_code
