"""What ``pip install celery-chaos`` and its extras bring: the core stays free of the optional parts."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import chaos
from chaos.extras import EXTRA_OF_MODULE

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _names(requirements: list[str]) -> set[str]:
    return {
        re.split(r"[\[<>=!~ ;]", requirement, maxsplit=1)[0].lower() for requirement in requirements
    }


def test_core_dependencies_leave_out_every_optional_part() -> None:
    core = _names(PROJECT["project"]["dependencies"])
    assert not core & {"testcontainers", "docker", "matplotlib", "toxiproxy-python", "hypothesis"}


def test_each_extra_brings_its_packages() -> None:
    extras = {
        name: _names(reqs) for name, reqs in PROJECT["project"]["optional-dependencies"].items()
    }
    assert extras["docker"] == {"testcontainers", "docker"}
    assert extras["reports"] == {"matplotlib"}
    assert extras["test"] == {"pytest-xdist", "hypothesis", "pytest-timeout", "toxiproxy-python"}
    assert extras["fast"] == {"uvloop", "orjson"}
    assert extras["matrix"] == {"uv"}
    dev = PROJECT["project"]["optional-dependencies"]["dev"]
    assert dev == ["celery-chaos[docker,reports,test,fast,matrix]"]
    assert "uv" not in _names(PROJECT["project"]["dependencies"]), "pip serves without it"


def test_every_extra_an_error_can_name_exists() -> None:
    assert set(EXTRA_OF_MODULE.values()) <= set(PROJECT["project"]["optional-dependencies"])


def test_license_file_and_typing_marker_ship() -> None:
    assert PROJECT["project"]["license"] == "MIT"
    assert PROJECT["project"]["license-files"] == ["LICENSE"]
    license_text = (ROOT / "LICENSE").read_text()
    assert license_text.startswith("MIT License")
    assert "Copyright (c) 2026 celery-chaos developers" in license_text
    assert (Path(chaos.__file__).parent / "py.typed").is_file()
    assert "py.typed" in PROJECT["tool"]["setuptools"]["package-data"]["chaos"]
