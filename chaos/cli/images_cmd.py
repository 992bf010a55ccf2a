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
