"""Docker backend: image builds from scratch and from cache, timed.

From scratch: every ``celery-chaos/*`` image removed and the wheelhouse cache moved aside, then
all images built (debootstrap base, Redis, runtime, proxy, worker). From cache: the same build
again, which must find every tag present and build nothing.

    python benchmarks/docker_image_builds.py [--skip-scratch]

Removing the images stops nothing that runs, but a stack started meanwhile would build them again:
run it when no docker test runs.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time


def remove_project_images(builder) -> list[str]:
    removed = []
    for image in builder.client.images.list():
        for tag in image.tags:
            if tag.startswith("celery-chaos/"):
                builder.client.images.remove(tag, force=True)
                removed.append(tag)
    return removed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-scratch", action="store_true", help="time the cached build only")
    args = parser.parse_args()

    from chaos.stack.base import REFERENCE_APP_DIR
    from chaos.stack.docker.images import ImageBuilder, image_cache_dir

    if not args.skip_scratch:
        builder = ImageBuilder(progress=None)
        removed = remove_project_images(builder)
        builder.client.images.prune(filters={"dangling": True})
        wheelhouse = image_cache_dir() / "wheelhouse"
        aside = wheelhouse.with_name("wheelhouse.bench-aside")
        if wheelhouse.exists():
            shutil.rmtree(aside, ignore_errors=True)
            wheelhouse.rename(aside)
        print(f"from scratch: removed {len(removed)} tags and moved the wheelhouse aside")
        scratch_builder = ImageBuilder(progress=None)
        began = time.monotonic()
        scratch_builder.build_all(REFERENCE_APP_DIR, "auto")
        scratch = time.monotonic() - began
        steps = ", ".join(
            f"{kind.split(':')[0]} {seconds:.1f} s"
            for kind, seconds in scratch_builder.build_seconds.items()
        )
        print(f"build from scratch: {scratch:.1f} s ({steps})")
        shutil.rmtree(aside, ignore_errors=True)

    cached = []
    for _ in range(3):
        builder = ImageBuilder(progress=None)
        began = time.monotonic()
        builder.build_all(REFERENCE_APP_DIR, "auto")
        seconds = time.monotonic() - began
        if builder.build_seconds:
            # Someone edited chaos/ or the app meanwhile: a rebuild, not a cache hit.
            print(f"rebuilt {sorted(builder.build_seconds)} in {seconds:.2f} s (inputs changed)")
        else:
            cached.append(seconds)
    if cached:
        print(
            f"build from cache (nothing built): {min(cached):.2f} s min, "
            f"{max(cached):.2f} s max over {len(cached)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
