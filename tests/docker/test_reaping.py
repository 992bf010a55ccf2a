"""Nothing labelled with a run is left behind: after a normal run, and after kill -9 of the
process that owned the stack followed by reaping."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from chaos.stack.base import StackConfig
from chaos.stack.docker import DockerStack, labelled_leftovers, reap_docker

pytestmark = pytest.mark.docker

OWNER_SCRIPT = textwrap.dedent(
    """
    import sys, threading
    from chaos.stack.base import StackConfig
    from chaos.stack.docker import DockerStack
    from chaos.stack.docker.images import BuiltImages, ProxyImage

    redis_image, proxy_tag, proxy_flavour, worker_image, run_dir = sys.argv[1:6]
    images = BuiltImages("", redis_image, "", ProxyImage(proxy_tag, proxy_flavour), worker_image)
    stack = DockerStack(StackConfig(workers=1, run_dir=run_dir, start_timeout=60), images=images)
    stack.start()
    print(stack.run_id, flush=True)
    threading.Event().wait(120)  # held until the test kills this process with SIGKILL
    """
)


def test_normal_run_leaves_no_labelled_container_network_or_volume(docker_images, tmp_path):
    with DockerStack(StackConfig(workers=1, run_dir=tmp_path), images=docker_images) as stack:
        run_id = stack.run_id
        # redis, its network holder, proxy, worker, network, volume
        assert len(labelled_leftovers(run_id)) == 6
    assert labelled_leftovers(run_id) == []


def test_kill_9_of_the_owner_then_reap_leaves_nothing(docker_images, tmp_path):
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER_SCRIPT, docker_images.redis, docker_images.proxy.tag,
         docker_images.proxy.flavour, docker_images.worker, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        assert owner.stdout is not None
        run_id = owner.stdout.readline().strip()
        assert run_id, "the owner process did not start its stack"
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait(timeout=10)
        left = labelled_leftovers(run_id)
        assert left, "a killed owner leaves its containers (nothing reaped yet)"
        # A dry run names every object of the dead run and removes none of them.
        would = [entry for entry in reap_docker(dry_run=True) if run_id in entry]
        assert sorted(would) == sorted(left)
        assert sorted(labelled_leftovers(run_id)) == sorted(left)
        removed = reap_docker()  # no run id: what belongs to dead owners
        assert any(run_id in entry for entry in removed)
        assert labelled_leftovers(run_id) == []
    finally:
        if owner.poll() is None:
            os.kill(owner.pid, signal.SIGKILL)
            owner.wait(timeout=10)
        if run_id_known := locals().get("run_id"):
            reap_docker(run_id_known)


def test_reap_leaves_stacks_whose_owner_is_alive(docker_stack):
    reap_docker()
    assert docker_stack.broker.is_running()
    assert labelled_leftovers(docker_stack.run_id)
