"""Images on another engine: loaded from the engine that already has the tag, else built.

A second engine has no registry to pull from and building there means debootstrap again; when
the source (the first, default engine) holds the content-hash tag, ``docker save`` there is
streamed into ``docker load`` on the target through the SDK, no file and no network in between.
Tags are digests of the inputs, so a tag present on the target is the same image: a second
call loads nothing (the cache is per engine, by tag).
"""

from __future__ import annotations

import os
import time

import docker
from docker.errors import APIError, ImageNotFound

from chaos.errors import StackError
from chaos.stack.docker.engine import engine_client
from chaos.stack.docker.engines import DEFAULT_ENGINE, client_for, current_engine, docker_hosts
from chaos.stack.docker.images import (
    ENV_TOXIPROXY_IMAGE,
    TOXIPROXY_REPOSITORIES,
    ImageBuilder,
    ProgressCallback,
    _print_progress,
)

#: Bytes per chunk of the save stream (the SDK's default is 2 MB).
CHUNK_SIZE = 4 * 1024 * 1024


def source_engine() -> str:
    """The engine images are loaded from: the first of CHAOS_DOCKER_HOSTS, else the default."""
    hosts = docker_hosts()
    return hosts[0] if hosts else DEFAULT_ENGINE


def transfer_image(tag: str, source: docker.DockerClient, target: docker.DockerClient) -> int:
    """Stream ``tag`` from ``source`` (docker save) into ``target`` (docker load); bytes sent."""
    sent = [0]

    def counted(chunks):  # type: ignore[no-untyped-def]
        for chunk in chunks:
            sent[0] += len(chunk)
            yield chunk

    try:
        chunks = source.api.get_image(tag, chunk_size=CHUNK_SIZE)
        for message in target.api.load_image(counted(chunks)):
            if isinstance(message, dict) and message.get("error"):
                raise StackError(f"image {tag}", f"docker load failed: {message['error']}")
        target.images.get(tag)
    except (APIError, ImageNotFound) as exc:
        raise StackError(f"image {tag}", f"copying it between engines failed: {exc}") from exc
    return sent[0]


class EngineImageBuilder(ImageBuilder):
    """An ImageBuilder for one engine that loads each missing tag from ``source`` when it has it."""

    def __init__(
        self,
        client: docker.DockerClient | None = None,
        *,
        source: docker.DockerClient | None = None,
        progress: ProgressCallback | None = _print_progress,
        **kwargs,  # type: ignore[no-untyped-def]
    ) -> None:
        super().__init__(client, progress=progress, **kwargs)
        self.source = source
        #: Tags loaded from the source this time, with seconds taken.
        self.loaded: dict[str, float] = {}

    def _needs_build(self, kind: str, tag: str) -> bool:
        if kind not in self._built and not self.rebuild and self._load_from_source(kind, tag):
            return False
        return super()._needs_build(kind, tag)

    def _local_toxiproxy_image(self) -> str | None:
        found = super()._local_toxiproxy_image()
        if found is None and self.source is not None and not os.environ.get(ENV_TOXIPROXY_IMAGE):
            # The same proxy on every engine: take the source's real Toxiproxy image along.
            for repository in TOXIPROXY_REPOSITORIES:
                tags = [tag for image in self.source.images.list(name=repository) for tag in image.tags]
                if tags:
                    found = max(tags)
                    break
            if found is not None:
                self._load_from_source("proxy", found)
        return found

    def _load_from_source(self, kind: str, tag: str) -> bool:
        if self.source is None or self.image_exists(tag):
            return False
        try:
            self.source.images.get(tag)
        except ImageNotFound:
            return False
        began = time.monotonic()
        self.progress(kind, f"{tag} is on the source engine: loading it here (docker save | load)")
        sent = transfer_image(tag, self.source, self.client)
        seconds = time.monotonic() - began
        self.loaded[tag] = seconds
        self._built[kind] = tag
        self.progress(kind, f"loaded {tag} ({sent / 1e6:.0f} MB) in {seconds:.1f} s")
        return True


def builder_for_current_engine(
    progress: ProgressCallback | None = _print_progress, **kwargs
) -> ImageBuilder:  # type: ignore[no-untyped-def]
    """The builder a stack uses: on a non-source engine it loads from the source engine first."""
    here = current_engine()
    source_url = source_engine()
    if here == source_url:
        return ImageBuilder(progress=progress, **kwargs)
    return EngineImageBuilder(engine_client(), source=_optional_client(source_url, progress),
                              progress=progress, **kwargs)  # fmt: skip


def builder_for(url: str, progress: ProgressCallback | None = _print_progress, *,
                source_url: str | None = None, **kwargs) -> EngineImageBuilder:  # type: ignore[no-untyped-def]  # fmt: skip
    """A builder for the engine at ``url``, loading from ``source_url`` (default: source_engine())."""
    source_url = source_url or source_engine()
    target = client_for(url)
    source = None if source_url == url else _optional_client(source_url, progress)
    return EngineImageBuilder(target, source=source, progress=progress, **kwargs)



def _optional_client(url: str, progress: ProgressCallback | None) -> docker.DockerClient | None:
    """The source engine's client, or None when it does not answer: the target's own tags
    still serve, and a missing one is built there (said, not hidden)."""
    try:
        return client_for(url)
    except StackError as exc:
        if progress is not None:
            progress("images", f"source engine {url} does not answer ({exc.failure.reason}): "
                               "nothing will be loaded from it")  # fmt: skip
        return None
