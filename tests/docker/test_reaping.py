"""Nothing labelled with a run is left behind: after a normal run; after kill -9 of the process
that owned the stack, with no manual step (its watchdog reaps); and after kill -9 of both the owner
and its watchdog, once ``reap_docker`` (``chaos clean``) runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from chaos.errors import StackError
from chaos.journal import read_journal
from chaos.stack._waiting import poll_until
from chaos.stack.base import StackConfig
from chaos.stack.docker import DockerStack, labelled_leftovers, reap_docker
from chaos.stack.docker.reaping import STARTUP_REAP_MIN_AGE, not_removed
from chaos.stack.local.reaping import processes_with_run_id

#: How soon after kill -9 of the owner nothing of its run may be left (issue 17 asks 2 s). The
#: watchdog removes the four containers in parallel, then the network and the volume: 0.68 s
#: measured at load 1.6 on two shared cores (the test prints it); 3 s allows a busier engine.
REAPED_WITHIN = 3.0
REPO = Path(__file__).resolve().parents[2]
#: A short library scenario: the kill lands while its workload sends.
SCENARIO = REPO / "scenarios" / "proxy-down.yaml"
#: ``chaos run`` up to run.started: images present, the stack started on two shared cores.
RUN_STARTED_WITHIN = 120.0

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
    print(stack.run_id, stack._watchdog.pid, flush=True)
    threading.Event().wait(120)  # held until the test kills this process with SIGKILL
    """
)


#: A run whose owner made its parts and died: containers, a network and a volume, labelled as a
#: stack labels them (cheaper than a stack: no worker to wait for).
DEAD_OWNER_SCRIPT = textwrap.dedent(
    """
    import sys
    import docker
    from chaos.stack.docker.labels import run_labels

    image, run_id = sys.argv[1:3]
    client = docker.from_env()
    client.networks.create(f"chaos-{run_id}", labels=run_labels(run_id, "network"))
    client.volumes.create(f"chaos-{run_id}-v", labels=run_labels(run_id, "volume"))
    for n in range(4):
        client.containers.run(image, ["sleep", "120"], detach=True, name=f"chaos-{run_id}-{n}",
                              network=f"chaos-{run_id}", labels=run_labels(run_id, f"part-{n}"))
    """
)


def test_normal_run_leaves_no_labelled_container_network_or_volume(docker_images, tmp_path):
    with DockerStack(StackConfig(workers=1, run_dir=tmp_path), images=docker_images) as stack:
        run_id = stack.run_id
        # redis, its network holder, proxy, worker, network, volume; and for the seed app's
        # database: the app-data volume and the stopped container that holds it
        assert len(labelled_leftovers(run_id)) == 8
    assert labelled_leftovers(run_id) == []
    # close() removed everything itself: the watchdog was released, it reaped nothing.
    assert "reaped" not in (tmp_path / "logs" / "watchdog.log").read_text()


def _start_owner(docker_images, run_dir: Path) -> tuple[subprocess.Popen[str], str, int]:
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER_SCRIPT, docker_images.redis, docker_images.proxy.tag,
         docker_images.proxy.flavour, docker_images.worker, str(run_dir)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )  # fmt: skip
    assert owner.stdout is not None
    words = owner.stdout.readline().split()
    if len(words) != 2:
        owner.kill()
        pytest.fail("the owner process did not start its stack")
    return owner, words[0], int(words[1])


def _leave_nothing(owner: subprocess.Popen[str], run_id: str | None) -> None:
    if owner.poll() is None:
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait(timeout=10)
    if run_id:
        reap_docker(run_id)


def test_kill_9_of_the_owner_leaves_nothing_with_no_manual_step(docker_images, tmp_path):
    owner, run_id, _ = _start_owner(docker_images, tmp_path)
    try:
        assert len(labelled_leftovers(run_id)) == 8  # with the app-data volume and its holder
        os.kill(owner.pid, signal.SIGKILL)
        killed = time.monotonic()
        owner.wait(timeout=10)
        watchdog_log = tmp_path / "logs" / "watchdog.log"
        said = lambda: (  # noqa: E731
            watchdog_log.read_text(errors="replace") if watchdog_log.exists() else "")
        # The watchdog writes its line after the removal: wait for both, not for the parts alone.
        gone = poll_until(lambda: labelled_leftovers(run_id) == [] and f"reaped {run_id}" in said(),
                          REAPED_WITHIN)  # fmt: skip
        print(f"docker run reaped {time.monotonic() - killed:.2f} s after kill -9")
        assert gone, f"left after {REAPED_WITHIN} s: {labelled_leftovers(run_id)}; {said()[-500:]}"
    finally:
        _leave_nothing(owner, run_id)


def _run_started(out: Path) -> str | None:
    """The run id once the run's journal says run.started."""
    for journal in out.glob("*/journal.jsonl"):
        for event in read_journal(journal.parent):
            if event.kind == "run.started":
                return str(event.data["run_id"])
    return None


def _run_processes(run_id: str) -> list[int]:
    return [process.pid for process in processes_with_run_id(run_id)]


def test_kill_9_of_chaos_run_mid_run_leaves_no_container_network_or_process(
    docker_images, tmp_path
):
    run = subprocess.Popen(
        [sys.executable, "-m", "chaos", "run", "--backend", "docker", "--out", str(tmp_path),
         "--no-report", str(SCENARIO)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    run_id = None
    try:
        run_id = poll_until(lambda: _run_started(tmp_path), RUN_STARTED_WITHIN)
        assert run_id and run.poll() is None, run.communicate(timeout=10)[1][-2000:]
        assert labelled_leftovers(run_id) and _run_processes(run_id)  # the workload, the worker
        # The seed app has a database: its producer runs in a container beside the workers.
        assert any(part.endswith("-producer") for part in labelled_leftovers(run_id))
        os.kill(run.pid, signal.SIGKILL)
        killed = time.monotonic()
        run.wait(timeout=10)
        gone = poll_until(
            lambda: labelled_leftovers(run_id) == [] and _run_processes(run_id) == [],
            REAPED_WITHIN,
        )
        print(f"chaos run --backend docker reaped {time.monotonic() - killed:.2f} s after kill -9")
        assert gone, f"left: {labelled_leftovers(run_id)}, processes {_run_processes(run_id)}"
    finally:
        if run.poll() is None:
            run.kill()
            run.wait(timeout=10)
        if run_id:
            reap_docker(run_id)
            for pid in _run_processes(run_id):
                os.kill(pid, signal.SIGKILL)


def test_kill_9_of_owner_and_watchdog_then_reap_leaves_nothing(docker_images, tmp_path):
    # Under xdist, another worker's DockerStack.start() reaps dead owners' runs on the same
    # engine: it may take this run between the kill and the count below (not seen; a known race).
    owner, run_id, watchdog = _start_owner(docker_images, tmp_path)
    try:
        os.kill(watchdog, signal.SIGKILL)  # nothing reaps now but reap_docker (chaos clean)
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait(timeout=10)
        left = labelled_leftovers(run_id)
        assert len(left) == 8, "a killed owner without its watchdog leaves its containers"
        # A dry run names every object of the dead run and removes none of them.
        would = [entry for entry in reap_docker(dry_run=True) if run_id in entry]
        assert sorted(would) == sorted(left)
        assert sorted(labelled_leftovers(run_id)) == sorted(left)
        removed = reap_docker()  # no run id: what belongs to dead owners
        assert any(run_id in entry for entry in removed)
        assert labelled_leftovers(run_id) == []
    finally:
        _leave_nothing(owner, run_id)


def test_reap_leaves_stacks_whose_owner_is_alive(docker_stack):
    reap_docker()
    assert docker_stack.broker.is_running()
    assert labelled_leftovers(docker_stack.run_id)


def test_a_stack_start_leaves_a_dead_owners_fresh_parts_to_its_watchdog(docker_images):
    """The start-up reap (``min_age``) skips a dead owner's parts younger than a minute; a reap
    without it (``chaos clean``) takes them at once. Both see the same dead owner."""
    run_id = f"fresh{os.getpid()}{int(time.time() * 1000) % 100000}"
    made = subprocess.run([sys.executable, "-c", DEAD_OWNER_SCRIPT, docker_images.redis, run_id],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    try:
        assert made.returncode == 0, made.stderr[-2000:]
        parts = labelled_leftovers(run_id)
        assert len(parts) == 6
        skipped = reap_docker(min_age=STARTUP_REAP_MIN_AGE, dry_run=True)
        assert not [entry for entry in skipped if run_id in entry]
        would = [entry for entry in reap_docker(dry_run=True) if run_id in entry]
        assert sorted(would) == sorted(parts)
    finally:
        reap_docker(run_id)
    assert labelled_leftovers(run_id) == []


def test_reapers_meeting_on_one_dead_run_both_succeed(docker_images, tmp_path):
    """Two reapers at once (a watchdog and ``chaos clean``, two xdist workers' stacks starting):
    the engine answers the second removal of a container 409 "already in progress". That error
    made ``reap_docker`` raise in whichever reaper came second: the cause of
    test_reap_leaves_stacks_whose_owner_is_alive failing once under ``-n 2``."""
    run_id = f"deadowner{os.getpid()}{int(time.time() * 1000) % 100000}"
    made = subprocess.run([sys.executable, "-c", DEAD_OWNER_SCRIPT, docker_images.redis, run_id],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    try:
        assert made.returncode == 0, made.stderr[-2000:]
        assert len(labelled_leftovers(run_id)) == 6  # 4 containers, the network, the volume
        for attempt in range(3):  # a collision each time: both list, then both remove
            with ThreadPoolExecutor(max_workers=2) as pool:
                answers = list(pool.map(lambda _: reap_docker(run_id), range(2)))
            assert labelled_leftovers(run_id) == []
            assert [not_removed(answer) for answer in answers] == [[], []]
            assert sum(len(answer) for answer in answers) >= 6
            if attempt < 2:
                made = subprocess.run(
                    [sys.executable, "-c", DEAD_OWNER_SCRIPT, docker_images.redis, run_id],
                    capture_output=True, text=True, timeout=120,
                )  # fmt: skip
                assert made.returncode == 0, made.stderr[-2000:]
    finally:
        reap_docker(run_id)


def test_a_part_reap_docker_cannot_remove_is_named_not_dropped(docker_images):
    """A network still in use by a container that is not the run's stays, and the answer says so
    (close() and chaos clean report it; see test_close_that_leaks_a_part_raises)."""
    run_id = f"inuse{os.getpid()}{int(time.time() * 1000) % 100000}"
    import docker

    from chaos.stack.docker.labels import run_labels

    client = docker.from_env()
    # The run's network is owned by this test's process, alive: a reaper beside it (each docker
    # stack's start reaps the stacks of dead owners, and the library's docker pass runs beside
    # this stream) leaves it alone, so only this test's explicit clean can remove it. With a dead
    # owner, another reaper removed it between the stranger's removal and the second clean.
    network, stranger = f"chaos-{run_id}", None
    try:
        client.networks.create(network, labels=run_labels(run_id, "network"))
        client.containers.run(docker_images.redis, ["sleep", "120"], detach=True,
                              name=f"{network}-0", network=network,
                              labels=run_labels(run_id, "part-0"))  # fmt: skip
        stranger = client.containers.run(docker_images.redis, ["sleep", "120"], detach=True,
                                         network=network)  # fmt: skip
        answer = reap_docker(run_id)
        left = not_removed(answer)
        assert len(left) == 1 and left[0].startswith(f"network chaos-{run_id} NOT removed: ")
        assert labelled_leftovers(run_id) == [f"network chaos-{run_id}"]
        # chaos clean names it and exits 3 (infrastructure), not 0 as if all were gone.
        clean = subprocess.run([sys.executable, "-m", "chaos", "clean", "--run", run_id],
                               capture_output=True, text=True, timeout=60)  # fmt: skip
        assert clean.returncode == 3, clean.stdout + clean.stderr
        assert f"network chaos-{run_id} NOT removed: " in clean.stdout
        stranger.remove(force=True)
        stranger = None
        clean = subprocess.run([sys.executable, "-m", "chaos", "clean", "--run", run_id],
                               capture_output=True, text=True, timeout=60)  # fmt: skip
        assert clean.returncode == 0, clean.stdout + clean.stderr
        assert f"removed network chaos-{run_id}" in clean.stdout
        assert labelled_leftovers(run_id) == []
    finally:
        if stranger is not None:
            stranger.remove(force=True)
        reap_docker(run_id)


def test_close_that_leaks_a_part_raises(docker_images, tmp_path):
    """close() that could not remove a part says so as a StackError (chaos run: exit 3; a
    fixture: a teardown error), as a Testcontainers container whose removal fails does."""
    import docker

    client = docker.from_env()
    stack = DockerStack(StackConfig(workers=1, run_dir=tmp_path, start_timeout=60),
                        images=docker_images)  # fmt: skip
    stranger = None
    try:
        stack.start()
        # Not the run's: a container someone attached to the run's network by hand.
        stranger = client.containers.run(docker_images.redis, ["sleep", "120"], detach=True,
                                         network=f"chaos-{stack.run_id}")  # fmt: skip
        with pytest.raises(StackError, match=r"close\(\) left parts of the run behind: network"):
            stack.close()
        assert labelled_leftovers(stack.run_id) == [f"network chaos-{stack.run_id}"]
    finally:
        if stranger is not None:
            stranger.remove(force=True)
        stack.close()  # closed already: removes what is left, raises nothing now
    assert labelled_leftovers(stack.run_id) == []
