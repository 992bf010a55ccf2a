"""The docker backend: Redis, the fault proxy and the app's workers as containers (Testcontainers).

Images are built here, never pulled (``chaos images``); see DESIGN.md for why. Importing this
package needs the ``docker`` and ``testcontainers`` libraries but no engine: the engine is asked
for when a stack starts, with a clear error when none answers.
"""

from __future__ import annotations

from chaos.stack.docker.engine import NO_ENGINE_HINT, engine_client
from chaos.stack.docker.images import BuiltImages, ImageBuilder, ProxyImage
from chaos.stack.docker.reaping import labelled_leftovers, reap_docker
from chaos.stack.docker.redis_container import RedisBrokerContainer
from chaos.stack.docker.stack import DockerStack
from chaos.stack.docker.toxiproxy_container import ToxiproxyContainer
from chaos.stack.docker.worker_container import CeleryWorkerContainer

__all__ = [
    "NO_ENGINE_HINT",
    "BuiltImages",
    "CeleryWorkerContainer",
    "DockerStack",
    "ImageBuilder",
    "ProxyImage",
    "RedisBrokerContainer",
    "ToxiproxyContainer",
    "engine_client",
    "labelled_leftovers",
    "reap_docker",
]
