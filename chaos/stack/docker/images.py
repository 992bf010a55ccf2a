"""The docker backend's images, built on this machine and never pulled.

No registry is reachable here (DESIGN.md), so every image starts from a Debian root file system
made with ``debootstrap`` and ``docker import``; Python packages come from a wheelhouse that the
host downloads and the image installs with ``--no-index``. Each tag is a digest of the image's
inputs (recipe, parent tag, files), so a second build finds every tag present and builds nothing;
``rebuild=True`` forces it.

Images: ``base`` (Debian + python3), ``redis`` (base + Debian's redis-server), ``runtime`` (base +
a venv with the project's dependencies + the ``chaos`` package), ``proxy`` (runtime running the
project's own Toxiproxy-compatible server, or the real Toxiproxy image where it is present),
``worker`` (runtime + the app, from the app's Dockerfile or a generated one).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import docker
from docker.errors import APIError, ImageNotFound

from chaos.errors import ConfigError, Problem, StackError
from chaos.lockfile import pins_without_hashes
from chaos.stack.docker.build_lock import build_lock
from chaos.stack.docker.dilation import dilated_clock_files
from chaos.stack.docker.engine import engine_client
from chaos.stack.docker.labels import LABEL_IMAGE_INPUTS

ProxyImageChoice = Literal["auto", "toxiproxy", "own"]
ProxyFlavour = Literal["toxiproxy", "own"]
#: (image kind, one line of progress)
ProgressCallback = Callable[[str, str], None]

#: Bump to rebuild every image when a recipe changes in a way its text does not show.
RECIPE_VERSION = "1"
REPOSITORY_PREFIX = "celery-chaos"
PROJECT_ROOT = Path(__file__).resolve().parents[3]
CHAOS_PACKAGE_DIR = PROJECT_ROOT / "chaos"

DEBIAN_SUITE = "bookworm"
DEBIAN_PACKAGES = ("python3", "python3-venv", "ca-certificates")
ENV_DEBIAN_MIRROR = "CHAOS_DEBIAN_MIRROR"
DEFAULT_DEBIAN_MIRROR = "http://deb.debian.org/debian"

TOXIPROXY_REPOSITORIES = ("ghcr.io/shopify/toxiproxy", "shopify/toxiproxy")
ENV_TOXIPROXY_IMAGE = "CHAOS_TOXIPROXY_IMAGE"
DEFAULT_TOXIPROXY_IMAGE = "ghcr.io/shopify/toxiproxy:2.12.0"

#: Debian's python3 is 3.11.2; redis-py needs async-timeout below 3.11.3, a marker pip evaluates
#: against the host's interpreter when downloading, so it is named here.
IMAGE_ONLY_REQUIREMENTS = ("async-timeout>=4.0.3",)
WHEEL_PLATFORMS = (
    "manylinux2014_x86_64",
    "manylinux_2_17_x86_64",
    "manylinux_2_28_x86_64",
    "linux_x86_64",
)

REDIS_DOCKERFILE = """\
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN apt-get update -qq \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server \\
 && rm -rf /var/lib/apt/lists/*
VOLUME /data
WORKDIR /data
EXPOSE 6379
CMD ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--dir", "/data"]
"""

RUNTIME_DOCKERFILE = """\
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
COPY wheels /wheels
RUN python3 -m venv /opt/venv \\
 && /opt/venv/bin/pip install --quiet --no-index --find-links /wheels -r /wheels/requirements.txt \\
 && rm -rf /wheels
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 HOME=/tmp
COPY chaos /opt/chaos/chaos
RUN python -m compileall -q /opt/chaos
ENV PYTHONPATH=/opt/chaos
COPY clock /opt/chaos-clock
"""

PROXY_DOCKERFILE = """\
ARG RUNTIME_IMAGE
FROM ${RUNTIME_IMAGE}
EXPOSE 8474
CMD ["python", "-m", "chaos.stack.docker.proxy_main", "--host", "0.0.0.0", "--port", "8474", "--allow-remote"]
"""

#: The worker image of an app that has no Dockerfile of its own (app/Dockerfile is the same).
#: Bytecode is compiled at build time: containers run as the host user with
#: PYTHONDONTWRITEBYTECODE, so every start would otherwise compile the sources again.
GENERATED_WORKER_DOCKERFILE = """\
ARG RUNTIME_IMAGE
FROM ${RUNTIME_IMAGE}
COPY . /app
WORKDIR /app
RUN python -m compileall -q /app
ENV PYTHONPATH=/app:/opt/chaos
"""

#: Files of an app directory that are state, not source: never in an image or its digest.
IGNORED_PARTS = {"__pycache__", ".venv", ".git", ".chaos", ".pytest_cache", "node_modules"}
IGNORED_SUFFIXES = (".pyc", ".sqlite3", ".sqlite3-journal", ".sqlite3-wal", ".sqlite3-shm", ".log")


@dataclass(frozen=True)
class ProxyImage:
    """The proxy image to run and which server it holds (its command line differs)."""

    tag: str
    flavour: ProxyFlavour


@dataclass(frozen=True)
class BuiltImages:
    """The tags a docker stack runs."""

    base: str
    redis: str
    runtime: str
    proxy: ProxyImage
    worker: str


def _print_progress(kind: str, line: str) -> None:
    print(f"[{kind}] {line}", file=sys.stderr, flush=True)


def print_builds_only(kind: str, line: str) -> None:
    """Progress for a stack's start: silent when every image is present, loud when one builds
    (a first start on a new machine takes minutes and should say why)."""
    if "not building" not in line and "using the" not in line and "no Toxiproxy image" not in line:
        _print_progress(kind, line)


def source_files(root: Path) -> list[Path]:
    """Files under ``root`` that belong in an image, sorted (state and caches left out)."""
    found = []
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if IGNORED_PARTS.intersection(relative.parts) or path.name.endswith(IGNORED_SUFFIXES):
            continue
        if path.is_file():
            found.append(path)
    return sorted(found)


class FileSnapshot:
    """The source files of a directory read once, so that the digest and the build context
    hold the same bytes even while someone edits the tree."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.contents: dict[str, bytes] = {
            path.relative_to(root).as_posix(): path.read_bytes() for path in source_files(root)
        }


class InputsDigest:
    """A sha256 over everything an image is made of; its hex prefix is the image's tag."""

    def __init__(self, kind: str) -> None:
        self._hash = hashlib.sha256(f"{kind}\0{RECIPE_VERSION}\0".encode())

    def text(self, value: str) -> InputsDigest:
        self._hash.update(value.encode() + b"\0")
        return self

    def snapshot(self, files: FileSnapshot) -> InputsDigest:
        for name, body in files.contents.items():
            self.text(name)
            self._hash.update(hashlib.sha256(body).digest())
        return self

    def tag(self, repository: str) -> str:
        return f"{repository}:{self._hash.hexdigest()[:16]}"


def project_requirements() -> list[str]:
    """The project's runtime dependencies (pyproject.toml), plus what only the image's Python needs."""
    with (PROJECT_ROOT / "pyproject.toml").open("rb") as handle:
        dependencies = tomllib.load(handle)["project"]["dependencies"]
    return [*dependencies, *IMAGE_ONLY_REQUIREMENTS]


def image_cache_dir() -> Path:
    """Where the wheelhouses and the base root file system's tarball are kept between builds."""
    configured = os.environ.get("CHAOS_STATE_DIR")
    root = Path(configured) if configured else Path.home() / ".cache" / "celery-chaos"
    return root / "images"


class ImageBuilder:
    """Builds (or finds) the images one docker stack needs, each at most once per builder."""

    def __init__(
        self,
        client: docker.DockerClient | None = None,
        *,
        rebuild: bool = False,
        progress: ProgressCallback | None = _print_progress,
        chaos_package_dir: Path = CHAOS_PACKAGE_DIR,
    ) -> None:
        self.client = client or engine_client()
        #: The ``chaos`` package copied into the runtime image (this checkout's by default).
        self.chaos_package_dir = Path(chaos_package_dir)
        self.rebuild = rebuild
        self.progress = progress or (lambda kind, line: None)
        self._built: dict[str, str] = {}
        #: Seconds each image took to build this time (absent: it was already there).
        self.build_seconds: dict[str, float] = {}

    # -- what exists ---------------------------------------------------------------------------

    def image_exists(self, tag: str) -> bool:
        try:
            self.client.images.get(tag)
        except ImageNotFound:
            return False
        return True

    def _needs_build(self, kind: str, tag: str) -> bool:
        if kind in self._built:
            if self._built[kind] != tag:
                raise StackError(
                    f"image {kind}",
                    f"its inputs changed during this build ({self._built[kind]} became {tag})",
                    hint="run 'chaos images' again once the files stop changing",
                )
            return False
        if self.rebuild or not self.image_exists(tag):
            return True
        self.progress(kind, f"{tag} is present (inputs unchanged): not building")
        self._built[kind] = tag
        return False

    @contextlib.contextmanager
    def _claim(self, kind: str, tag: str) -> Iterator[bool]:
        """Whether to build ``tag`` now, holding the engine's lock for it while the caller builds;
        a tag another process built while this one waited is not built again."""
        if not self._needs_build(kind, tag):
            yield False
            return
        with build_lock(image_cache_dir() / "locks", self.client.api.base_url, tag):
            if not self.rebuild and self.image_exists(tag):
                self.progress(kind, f"{tag} was built by another process meanwhile: not building")
                self._built[kind] = tag
                yield False
            else:
                yield True

    # -- the images ------------------------------------------------------------------------------

    def base(self) -> str:
        mirror = os.environ.get(ENV_DEBIAN_MIRROR, DEFAULT_DEBIAN_MIRROR)
        tag = (
            InputsDigest("base")
            .text(DEBIAN_SUITE)
            .text(",".join(DEBIAN_PACKAGES))
            .tag(f"{REPOSITORY_PREFIX}/base")
        )
        with self._claim("base", tag) as build:
            if build:
                began = time.monotonic()
                self._import_debootstrap_rootfs(tag, mirror)
                self._done("base", tag, began)
        return tag

    def redis(self) -> str:
        base = self.base()
        tag = InputsDigest("redis").text(base).text(REDIS_DOCKERFILE).tag(f"{REPOSITORY_PREFIX}/redis")
        with self._claim("redis", tag) as build:
            if build:
                began = time.monotonic()
                context = {"Dockerfile": REDIS_DOCKERFILE.encode()}
                self._build("redis", tag, self._context_tar(context, []), {"BASE_IMAGE": base})
                self._done("redis", tag, began)
        return tag

    def runtime(self) -> str:
        if "runtime" in self._built:
            return self._built["runtime"]
        base = self.base()
        requirements = project_requirements()
        lock_file = PROJECT_ROOT / "requirements.lock"
        lock_text = lock_file.read_text() if lock_file.is_file() else ""
        chaos_files = FileSnapshot(self.chaos_package_dir)
        clock_files = dilated_clock_files()  # a dilated clock's libraries, when this machine has
        tag = (
            InputsDigest("runtime")
            .text(base)
            .text(RUNTIME_DOCKERFILE)
            .text("\n".join(requirements))
            .text(lock_text)
            .snapshot(chaos_files)
            .text(repr(sorted((name, hashlib.sha256(body).hexdigest())
                              for name, body in clock_files.items())))
            .tag(f"{REPOSITORY_PREFIX}/runtime")
        )
        with self._claim("runtime", tag) as build:
            if build:
                began = time.monotonic()
                wheelhouse = self._wheelhouse(requirements, lock_file if lock_text else None)
                members = [(path, f"wheels/{path.name}") for path in sorted(wheelhouse.iterdir())]
                context = {"Dockerfile": RUNTIME_DOCKERFILE.encode()}
                context.update(
                    {f"chaos/{name}": body for name, body in chaos_files.contents.items()}
                )
                context.update({f"clock/{name}": body for name, body in clock_files.items()})
                archive = self._context_tar(context, members)
                self._build("runtime", tag, archive, {"BASE_IMAGE": base})
                self._done("runtime", tag, began)
        return tag

    def proxy(self, choice: ProxyImageChoice = "auto") -> ProxyImage:
        if choice not in ("auto", "toxiproxy", "own"):
            raise ConfigError(
                [Problem("unknown proxy image", field_path="proxy_image", given=repr(choice),
                         expected="auto, toxiproxy or own")]
            )
        if choice in ("auto", "toxiproxy"):
            present = self._local_toxiproxy_image()
            if present:
                self.progress("proxy", f"using the Toxiproxy image {present}")
                return ProxyImage(present, "toxiproxy")
            if choice == "toxiproxy":
                return ProxyImage(self._pull_toxiproxy(), "toxiproxy")
            self.progress("proxy", "no Toxiproxy image here: using the project's own proxy")
        runtime = self.runtime()
        tag = InputsDigest("proxy").text(runtime).text(PROXY_DOCKERFILE).tag(f"{REPOSITORY_PREFIX}/proxy")
        with self._claim("proxy", tag) as build:
            if build:
                began = time.monotonic()
                context = {"Dockerfile": PROXY_DOCKERFILE.encode()}
                archive = self._context_tar(context, [])
                self._build("proxy", tag, archive, {"RUNTIME_IMAGE": runtime})
                self._done("proxy", tag, began)
        return ProxyImage(tag, "own")

    def worker(self, app_dir: Path) -> str:
        app_dir = Path(app_dir).resolve()
        if not app_dir.is_dir():
            raise ConfigError(
                [Problem("the app directory does not exist", file=app_dir, field_path="workdir",
                         expected="a directory holding the Celery app")]
            )
        runtime = self.runtime()
        own_dockerfile = app_dir / "Dockerfile"
        dockerfile = (
            own_dockerfile.read_text() if own_dockerfile.is_file() else GENERATED_WORKER_DOCKERFILE
        )
        app_files = FileSnapshot(app_dir)
        repository = f"{REPOSITORY_PREFIX}/worker-{_repository_safe(app_dir.name)}"
        tag = (
            InputsDigest("worker")
            .text(runtime)
            .text(dockerfile)
            .snapshot(app_files)
            .tag(repository)
        )
        kind = f"worker:{app_dir}"
        with self._claim(kind, tag) as build:
            if build:
                began = time.monotonic()
                context = {**app_files.contents, "Dockerfile": dockerfile.encode()}
                archive = self._context_tar(context, [])
                self._build(kind, tag, archive, {"RUNTIME_IMAGE": runtime})
                self._done(kind, tag, began)
        return tag

    def build_all(self, app_dir: Path, proxy_choice: ProxyImageChoice = "auto") -> BuiltImages:
        return BuiltImages(
            base=self.base(),
            redis=self.redis(),
            runtime=self.runtime(),
            proxy=self.proxy(proxy_choice),
            worker=self.worker(app_dir),
        )

    def prune_other_tags(self, keep: set[str], repository: str | None = None) -> list[str]:
        """Untag every ``celery-chaos/*`` image but ``keep``: each edit of the sources makes a new
        tag, and a work tree that changes all day piles them up. Images a container still uses
        are left alone (Docker refuses, and that refusal is fine). ``repository`` limits it to one."""
        prefix = f"{repository}:" if repository else f"{REPOSITORY_PREFIX}/"
        removed = []
        for image in self.client.images.list():
            for tag in image.tags:
                if tag.startswith(prefix) and tag not in keep:
                    try:
                        self.client.images.remove(tag)
                    except APIError as exc:
                        self.progress("prune", f"kept {tag}: {exc.explanation or exc}")
                        continue
                    removed.append(tag)
                    self.progress("prune", f"removed {tag}")
        return removed

    # -- how -------------------------------------------------------------------------------------

    def _done(self, kind: str, tag: str, began: float) -> None:
        seconds = time.monotonic() - began
        self.build_seconds[kind] = seconds
        self._built[kind] = tag
        self.progress(kind, f"built {tag} in {seconds:.1f} s")

    def _import_debootstrap_rootfs(self, tag: str, mirror: str) -> None:
        debootstrap = shutil.which("debootstrap") or (
            "/usr/sbin/debootstrap" if Path("/usr/sbin/debootstrap").exists() else None
        )
        if debootstrap is None:
            raise StackError(
                "image base",
                "debootstrap is not installed (it makes the base image: no registry to pull from)",
                hint="apt-get install -y debootstrap, or run bash scripts/ensure-docker",
            )
        if os.geteuid() != 0:
            raise StackError(
                "image base",
                "debootstrap needs root to make the base image",
                hint="run 'chaos images' once as root (sudo); later builds reuse the image",
            )
        cache = image_cache_dir()
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="rootfs-", dir=cache) as workspace:
            rootfs = Path(workspace) / "rootfs"
            command = [
                debootstrap, "--variant=minbase", f"--include={','.join(DEBIAN_PACKAGES)}",
                DEBIAN_SUITE, str(rootfs), mirror,
            ]  # fmt: skip
            self.progress("base", " ".join(command))
            self._run_streaming("base", command)
            for leftover in (rootfs / "var/cache/apt/archives").glob("*.deb"):
                leftover.unlink()
            tarball = Path(workspace) / "rootfs.tar"
            self.progress("base", "docker import of the root file system")
            self._run_streaming("base", ["tar", "-C", str(rootfs), "-cf", str(tarball), "."])
            repository, _, version = tag.rpartition(":")
            try:
                self.client.api.import_image_from_file(
                    str(tarball),
                    repository=repository,
                    tag=version,
                    changes=[f"LABEL {LABEL_IMAGE_INPUTS}={version}", 'CMD ["/bin/bash"]'],
                )
            except APIError as exc:
                raise StackError("image base", f"docker import failed: {exc}") from exc

    def _run_streaming(self, kind: str, command: list[str]) -> None:
        tail: list[str] = []
        with subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ) as process:
            assert process.stdout is not None
            for line in process.stdout:
                tail = [*tail[-39:], line.rstrip()]
                self.progress(kind, line.rstrip())
        if process.returncode != 0:
            raise StackError(
                f"image {kind}",
                f"{command[0]} exited with {process.returncode}",
                log_tail="\n".join(tail),
                hint=f"is the Debian mirror reachable? (set {ENV_DEBIAN_MIRROR} to another)",
            )

    def _wheelhouse(self, requirements: list[str], lock_file: Path | None) -> Path:
        """Wheels for the image's Python, downloaded once per requirement set."""
        digest = InputsDigest("wheelhouse").text("\n".join(requirements))
        if lock_file is not None:
            digest.text(lock_file.read_text())
        wheelhouse = image_cache_dir() / "wheelhouse" / digest.tag("w").partition(":")[2]
        if (wheelhouse / "requirements.txt").is_file():
            self.progress("runtime", f"wheelhouse {wheelhouse} is present")
            return wheelhouse
        staging = wheelhouse.with_name(wheelhouse.name + f".{os.getpid()}.tmp")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        (staging / "requirements.in").write_text("\n".join(requirements) + "\n")
        command = [
            sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
            "--dest", str(staging), "--only-binary=:all:", "--implementation", "cp",
            "--python-version", "3.11", "--abi", "cp311",
            *[arg for platform in WHEEL_PLATFORMS for arg in ("--platform", platform)],
            "-r", str(staging / "requirements.in"),
        ]  # fmt: skip
        if lock_file is not None:
            constraints = staging / "constraints.txt"
            constraints.write_text(pins_without_hashes(lock_file.read_text()))
            command += ["-c", str(constraints)]
        self.progress("runtime", "downloading the wheelhouse for the image's Python (pip download)")
        self._run_streaming("runtime", command)
        # The image installs exactly what was downloaded, by file name, with no index.
        wheels = sorted(path.name for path in staging.glob("*.whl"))
        (staging / "requirements.txt").write_text("".join(f"/wheels/{name}\n" for name in wheels))
        (staging / "requirements.in").unlink()
        (staging / "constraints.txt").unlink(missing_ok=True)
        shutil.rmtree(wheelhouse, ignore_errors=True)
        os.replace(staging, wheelhouse)
        return wheelhouse

    @staticmethod
    def _context_tar(generated: dict[str, bytes], members: list[tuple[Path, str]]) -> io.BytesIO:
        """A build context holding exactly the files given (no .dockerignore surprises)."""
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            for name, content in generated.items():
                entry = tarfile.TarInfo(name)
                entry.size = len(content)
                entry.mode = 0o644
                archive.addfile(entry, io.BytesIO(content))
            for path, name in members:
                entry = archive.gettarinfo(str(path), arcname=name)
                entry.uid = entry.gid = 0
                entry.uname = entry.gname = ""
                entry.mtime = 0
                with path.open("rb") as handle:
                    archive.addfile(entry, handle)
        buffer.seek(0)
        return buffer

    def _build(self, kind: str, tag: str, context: io.BytesIO, build_args: dict[str, str]) -> None:
        for parent in build_args.values():
            if not self.image_exists(parent):
                # Docker would try to pull it from a registry; there is none here.
                raise StackError(f"image {kind}", f"its parent image {parent} is not here")
        tail: list[str] = []
        try:
            stream: Iterator[dict] = self.client.api.build(
                fileobj=context,
                custom_context=True,
                tag=tag,
                rm=True,
                forcerm=True,
                pull=False,
                nocache=self.rebuild,
                decode=True,
                buildargs=build_args,
                labels={LABEL_IMAGE_INPUTS: tag.rpartition(":")[2]},
            )
            for chunk in stream:
                if "error" in chunk:
                    raise StackError(
                        f"image {kind}",
                        f"docker build of {tag} failed: {chunk['error'].strip()}",
                        log_tail="\n".join(tail),
                    )
                for line in str(chunk.get("stream", "")).splitlines():
                    if line.strip():
                        tail = [*tail[-39:], line]
                        self.progress(kind, line)
        except APIError as exc:
            raise StackError(f"image {kind}", f"docker build of {tag} failed: {exc}") from exc

    def _local_toxiproxy_image(self) -> str | None:
        wanted = os.environ.get(ENV_TOXIPROXY_IMAGE)
        if wanted:
            return wanted if self.image_exists(wanted) else None
        for repository in TOXIPROXY_REPOSITORIES:
            for image in self.client.images.list(name=repository):
                if image.tags:
                    return max(image.tags)
        return None

    def _pull_toxiproxy(self) -> str:
        wanted = os.environ.get(ENV_TOXIPROXY_IMAGE, DEFAULT_TOXIPROXY_IMAGE)
        self.progress("proxy", f"pulling {wanted}")
        try:
            self.client.images.pull(wanted)
        except APIError as exc:
            raise StackError(
                "image proxy",
                f"the Toxiproxy image {wanted} is not here and cannot be pulled: {exc}",
                hint="use --proxy-image own (the project's own Toxiproxy-compatible proxy)",
            ) from exc
        return wanted


def _repository_safe(name: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in name.lower()).strip("-.")
    return safe or "app"
