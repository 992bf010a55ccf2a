"""``chaos images``: build the docker backend's images here (no registry needed), or find them built.

Tags are digests of each image's inputs, so a second run builds nothing; ``--rebuild`` forces it.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from chaos.stack.base import REFERENCE_APP_DIR


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "images",
        help="build the docker backend's images (base, Redis, proxy, worker) locally",
        description=(
            "Build the images the docker backend runs: a Debian base made with debootstrap, "
            "Redis, the fault proxy and the app's worker image. Nothing is pulled; tags are "
            "digests of the inputs, so an unchanged image is not built again."
        ),
        epilog="example: bash scripts/ensure-docker && chaos images --app app",
    )
    parser.add_argument(
        "--rebuild", action="store_true", help="build every image again, ignoring the cache"
    )
    parser.add_argument(
        "--proxy-image",
        choices=("auto", "toxiproxy", "own"),
        default="auto",
        help=(
            "auto: the real ghcr.io/shopify/toxiproxy image where present locally, else the "
            "project's own proxy; toxiproxy: that image (pulled if absent); own: the project's proxy"
        ),
    )
    parser.add_argument(
        "--app",
        type=Path,
        default=REFERENCE_APP_DIR,
        help="the app directory the worker image is built from (default: the reference app)",
    )
    parser.add_argument(
        "--prune",
        action="store_true",
        help="afterwards, untag every other celery-chaos/* image (older inputs) no container uses",
    )
    parser.add_argument(
        "--docker-host",
        action="append",
        default=[],
        metavar="URL",
        help=(
            "the engine to make the images on (repeatable; e.g. tcp://127.0.0.1:2385): a tag the "
            "source engine (first of CHAOS_DOCKER_HOSTS, else the default socket) already has is "
            "loaded from it (docker save | docker load), anything else is built there"
        ),
    )
    parser.add_argument("--quiet", action="store_true", help="print only the resulting tags")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markup import escape

    from chaos.stack.docker.images import ImageBuilder

    console = Console(stderr=True, highlight=False)

    def show(kind: str, line: str) -> None:
        if not args.quiet:
            console.print(f"[dim]{escape(f'[{kind}]')}[/dim] {escape(line)}", soft_wrap=True)

    if args.docker_host:
        return _on_engines(args, show, console)
    began = time.monotonic()
    builder = ImageBuilder(rebuild=args.rebuild, progress=show)
    images = builder.build_all(args.app, args.proxy_image)
    print(f"base     {images.base}")
    print(f"redis    {images.redis}")
    print(f"runtime  {images.runtime}")
    print(f"proxy    {images.proxy.tag} ({images.proxy.flavour})")
    print(f"worker   {images.worker}")
    if args.prune:
        keep = {images.base, images.redis, images.runtime, images.proxy.tag, images.worker}
        removed = builder.prune_other_tags(keep)
        console.print(f"pruned {len(removed)} older tags")
    built = ", ".join(f"{kind} {seconds:.1f} s" for kind, seconds in builder.build_seconds.items())
    console.print(
        f"images ready in {time.monotonic() - began:.1f} s"
        + (f" (built: {built})" if built else " (all present, nothing built)")
    )
    return 0


def _on_engines(args: argparse.Namespace, show, console) -> int:  # type: ignore[no-untyped-def]
    """Each named engine in turn: load what the source has, build the rest, say which has what."""
    from chaos.stack.docker.image_transfer import builder_for, source_engine

    source = source_engine()
    for url in args.docker_host:
        began = time.monotonic()
        builder = builder_for(url, progress=show, rebuild=args.rebuild)
        images = builder.build_all(args.app, args.proxy_image)
        for kind, tag in (("base", images.base), ("redis", images.redis),
                          ("runtime", images.runtime), ("proxy", images.proxy.tag),
                          ("worker", images.worker)):  # fmt: skip
            how = (
                f"loaded from {source}" if tag in builder.loaded
                else "built" if any(tag == builder._built.get(k) for k in builder.build_seconds)
                else "present"
            )  # fmt: skip
            print(f"{url}  {kind:<8} {tag}  ({how})")
        console.print(f"{url}: images ready in {time.monotonic() - began:.1f} s "
                      f"({len(builder.loaded)} loaded, {len(builder.build_seconds)} built)")  # fmt: skip
    return 0
