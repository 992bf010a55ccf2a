"""One cached virtualenv per version set, with the project installed into it.

A venv is keyed by a hash of the version set's requirements, the project's lock and its
``pyproject.toml`` and the interpreter's version: the same set on the same project reuses its venv
(a warm matrix run builds nothing). The project is installed editable, so code changes need no
rebuild. Every other package is constrained by ``requirements.lock`` where compatible: first the
whole lock but the named packages; if the resolver cannot agree with it, also without the pins of
what the lock says they pull in (``redis  # via kombu``); last, with no pins at all (the venv says
so in its notes). uv builds the venv when it is installed (the ``matrix`` extra, or on PATH;
about 5 s a set here, against 25 to 113 s), else ``venv`` + pip. A venv is built in a ``.partial`` directory and renamed when complete, so a
crashed build is never reused.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from chaos.errors import ConfigError, StackError

ENV_CACHE_DIR = "CHAOS_CACHE_DIR"
LOCK_FILE = "requirements.lock"
MARKER_FILE = "chaos-matrix-venv.json"
#: The packages whose installed versions a matrix reports for each set.
REPORTED_PACKAGES = ("celery", "kombu", "redis", "django", "billiard", "vine", "amqp")
BUILD_TIMEOUT = 900.0
#: Bumped when the way a venv is built changes, so that older cached venvs are not reused.
BUILD_RECIPE = "2"


class VenvBuildError(StackError):
    """A version set's virtualenv could not be built (the CLI exits 3)."""


def normalize_name(name: str) -> str:
    """PEP 503's normalized project name (``Django`` and ``django_celery_results`` compare)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class VersionSet:
    """Requirements that define one column of the matrix, e.g. ``celery==5.6.2 kombu==5.6.2``."""

    requirements: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> VersionSet:
        """Parse ``--versions "celery==5.6.2 kombu==5.6.2"``: ConfigError on a bad requirement."""
        from packaging.requirements import InvalidRequirement, Requirement

        parts = text.split()
        if not parts:
            raise ConfigError(f"--versions {text!r}: no requirement given")
        for part in parts:
            try:
                Requirement(part)
            except InvalidRequirement as exc:
                raise ConfigError(f"--versions {text!r}: {part!r} is not a requirement: {exc}")
        return cls(tuple(parts))

    @property
    def label(self) -> str:
        return " ".join(self.requirements)

    @property
    def names(self) -> set[str]:
        from packaging.requirements import Requirement

        return {normalize_name(Requirement(part).name) for part in self.requirements}

    @property
    def slug(self) -> str:
        """A file-name-safe form of the label (``celery-5.6.2_kombu-5.6.2``)."""
        return "_".join(re.sub(r"[^A-Za-z0-9.]+", "-", part).strip("-")
                        for part in self.requirements)  # fmt: skip


@dataclass
class VersionVenv:
    """A built venv: where it is, what it holds, how long it took (0 when it came from cache)."""

    version_set: VersionSet
    path: Path
    versions: dict[str, str]
    build_seconds: float
    cached: bool
    constrained: bool
    tool: str = "pip"
    notes: list[str] = field(default_factory=list)

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"


def cache_root() -> Path:
    configured = os.environ.get(ENV_CACHE_DIR)
    base = Path(configured) if configured else Path.home() / ".cache" / "celery-chaos"
    return base / "venvs"


def venv_key(version_set: VersionSet, project: Path) -> str:
    """What decides whether a cached venv can serve: the set, the lock, the project's
    dependencies, the interpreter, and the checkout itself: the project is installed editable,
    so a venv built for another checkout would run that checkout's code, not this one's."""
    digest = hashlib.sha256(BUILD_RECIPE.encode())
    digest.update(str(project.resolve()).encode())
    digest.update("\n".join(sorted(version_set.requirements)).encode())
    for name in (LOCK_FILE, "pyproject.toml"):
        path = project / name
        digest.update(path.read_bytes() if path.exists() else b"")
    digest.update(sys.version.split()[0].encode())
    return digest.hexdigest()[:16]


def lock_constraints(lock_text: str, names: set[str], *, free_dependencies: bool = True
                     ) -> list[str]:  # fmt: skip
    """The lock's pins minus those of ``names`` and (``free_dependencies``) of what the lock
    says they pull in.

    pip-compile writes ``pkg==1.0`` followed by ``# via a`` / ``#   a`` / ``#   b`` lines; a
    package pulled in by a named package (redis via kombu) must be free to move with it.
    """
    pins: dict[str, str] = {}
    via: dict[str, set[str]] = {}
    current: str | None = None
    for raw in lock_text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if not line.startswith("#") and "==" in line:
            current = normalize_name(line.split("==", 1)[0].split("[", 1)[0].strip())
            pins[current] = line.split(" ", 1)[0].split(";", 1)[0]
            via[current] = set()
            continue
        if current is None or not line.startswith("#"):
            continue
        comment = line.lstrip("#").strip()
        if comment.startswith("via"):
            comment = comment[3:].strip()
        if comment and not comment.startswith("-r") and "(" not in comment:
            via[current].add(normalize_name(comment.split()[0]))
    return [
        pin for name, pin in pins.items()
        if name not in names and not (free_dependencies and via[name] & names)
    ]  # fmt: skip


#: What a venv built with a looser tier says about itself.
TIER_NOTES = {
    1: "the lock's pins of packages the set pulls in were dropped (they conflict with the set)",
    2: "the lock's pins conflict with this set: resolved without them",
}


def constraint_tiers(lock: Path, names: set[str]) -> list[list[str] | None]:
    """The constraints to try in turn, tightest first: the whole lock but the named packages;
    also without what they pull in; none at all (``None``)."""
    if not lock.exists():
        return [None]
    text = lock.read_text()
    tiers: list[list[str] | None] = [lock_constraints(text, names, free_dependencies=False),
                                     lock_constraints(text, names)]  # fmt: skip
    return [*tiers, None]


def _installed_versions(python: Path) -> dict[str, str]:
    script = (
        "import json, importlib.metadata as m\n"
        f"names = {list(REPORTED_PACKAGES)!r}\n"
        "found = {}\n"
        "for n in names:\n"
        "    try: found[n] = m.version(n)\n"
        "    except m.PackageNotFoundError: pass\n"
        "print(json.dumps(found))\n"
    )
    out = subprocess.run([str(python), "-c", script], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def _run(command: list[str], log: Path) -> bool:
    with log.open("a") as sink:
        sink.write("$ " + " ".join(command) + "\n")
        sink.flush()
        try:
            done = subprocess.run(command, stdout=sink, stderr=subprocess.STDOUT,
                                  timeout=BUILD_TIMEOUT, check=False)  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            sink.write(f"{exc!r}\n")
            return False
    return done.returncode == 0


def _uv() -> str | None:
    """uv beside this interpreter (the ``matrix`` extra, in a venv that is not activated), else
    on PATH, else None."""
    beside = Path(sys.executable).parent / "uv"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("uv")


def _install_commands(tool: str, partial: Path, project: Path, requirements: list[str],
                      constraints: Path | None) -> list[list[str]]:  # fmt: skip
    python = str(partial / "bin" / "python")
    constraint_args = ["-c", str(constraints)] if constraints is not None else []
    uv = _uv()
    if tool == "uv" and uv is not None:
        return [
            [uv, "venv", "--quiet", "--python", sys.executable, str(partial)],
            [uv, "pip", "install", "--quiet", "--python", python, "-e", str(project),
             *requirements, *constraint_args],
        ]  # fmt: skip
    return [
        [sys.executable, "-m", "venv", str(partial)],
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-e", str(project), *requirements, *constraint_args],
    ]  # fmt: skip


def ensure_venv(version_set: VersionSet, project: Path, *, root: Path | None = None) -> VersionVenv:
    """The set's venv from cache, or built now. VenvBuildError when it cannot be built."""
    root = root or cache_root()
    key = venv_key(version_set, project)
    path = root / f"{version_set.slug}-{key}"
    marker = path / MARKER_FILE
    if marker.exists():
        recorded = json.loads(marker.read_text())
        return VersionVenv(version_set, path, recorded["versions"], 0.0, True,
                           recorded["constrained"], recorded.get("tool", "pip"),
                           recorded.get("notes", []))  # fmt: skip
    root.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    log = root / f"{path.name}.log"
    log.write_text(f"building {version_set.label} for {project}\n")
    tool = "uv" if _uv() is not None else "pip"
    began = time.monotonic()
    requirements = list(version_set.requirements)
    notes: list[str] = []
    built, constrained = False, False
    for tier, pins in enumerate(constraint_tiers(project / LOCK_FILE, version_set.names)):
        constraints: Path | None = None
        if pins is not None:
            constraints = root / f"{path.name}.constraints.txt"
            constraints.write_text("\n".join(pins) + "\n")
        shutil.rmtree(partial, ignore_errors=True)
        commands = _install_commands(tool, partial, project, requirements, constraints)
        built = all(_run(command, log) for command in commands)
        if built:
            constrained = pins is not None
            if tier:
                notes.append(TIER_NOTES[tier])
            break
    if not built:
        shutil.rmtree(partial, ignore_errors=True)
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        raise VenvBuildError(f"venv for {version_set.label!r}", "the install failed",
                             log_tail=tail, hint=f"full log: {log}")  # fmt: skip
    seconds = time.monotonic() - began
    versions = _installed_versions(partial / "bin" / "python")
    (partial / MARKER_FILE).write_text(json.dumps({
        "requirements": requirements, "versions": versions, "constrained": constrained,
        "tool": tool, "build_seconds": seconds, "project": str(project), "notes": notes,
    }, indent=2))  # fmt: skip
    shutil.rmtree(path, ignore_errors=True)
    partial.rename(path)
    return VersionVenv(version_set, path, versions, seconds, False, constrained, tool, notes)
