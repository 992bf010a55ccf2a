"""``app.workdir`` in a generated library: relative only where the library and the app move
together (the library inside the project, or in the same git repository), absolute elsewhere."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from chaos.cli import main
from chaos.scenario import load_scenario
from chaos.scenario.semantics import app_workdir
from chaos.starter.workdir import repository_root, workdir_for

OTHERAPP = Path(__file__).resolve().parents[1] / "otherapp"


def test_a_library_inside_the_project_keeps_a_relative_workdir(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    assert workdir_for(project, project / "chaos-scenarios") == ".."
    assert workdir_for(project, project / "a" / "b") == "../.."


def test_a_library_in_the_same_repository_keeps_a_relative_workdir(tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / ".git").write_text("gitdir: elsewhere\n")  # a worktree's .git is a file
    project, out = tmp_path / "repo" / "services" / "billing", tmp_path / "repo" / "chaos"
    assert repository_root(out) == tmp_path / "repo"
    assert workdir_for(project, out) == "../services/billing"


def test_a_library_outside_the_project_and_its_repository_gets_an_absolute_workdir(
    tmp_path: Path,
) -> None:
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    project = tmp_path / "repo" / "proj"
    # Another repository, and no repository at all: a relative path would climb out of the library.
    (tmp_path / "other" / ".git").mkdir(parents=True)
    assert workdir_for(project, tmp_path / "other" / "lib") == str(project.resolve())
    assert workdir_for(tmp_path / "plain", tmp_path / "lib") == str((tmp_path / "plain").resolve())


def test_init_outside_the_project_writes_a_workdir_that_survives_a_move(tmp_path: Path) -> None:
    out = tmp_path / "starter"
    assert main(["init", str(OTHERAPP), "--out", str(out),
                 "--args", "billing.charge_invoice=[1]"]) == 0  # fmt: skip
    written = yaml.safe_load((out / "charge-invoice-link-down.yaml").read_text())
    assert written["app"]["workdir"] == str(OTHERAPP.resolve())
    # The library moved elsewhere still finds the app and still validates.
    moved = tmp_path / "deeper" / "still" / "starter"
    shutil.copytree(out, moved)
    loaded = load_scenario(moved / "charge-invoice-link-down.yaml")
    assert app_workdir(loaded.scenario, loaded.path).resolve() == OTHERAPP.resolve()


def test_init_inside_the_project_writes_a_relative_workdir(tmp_path: Path) -> None:
    project = tmp_path / "otherapp"
    shutil.copytree(OTHERAPP, project, ignore=shutil.ignore_patterns("*.sqlite3", "__pycache__"))
    assert main(["init", str(project), "--args", "billing.charge_invoice=[1]"]) == 0
    out = project / "chaos-scenarios"
    document = yaml.safe_load((out / "charge-invoice-latency.yaml").read_text())
    assert document["app"]["workdir"] == ".."
    # The project moved with its library: the relative path still finds it.
    moved = tmp_path / "moved"
    project.rename(moved)
    loaded = load_scenario(moved / "chaos-scenarios" / "charge-invoice-latency.yaml")
    assert app_workdir(loaded.scenario, loaded.path).resolve() == moved.resolve()
