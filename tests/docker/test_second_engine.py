"""A second Docker engine on this machine (scripts/second-engine): a library scenario runs there.

The scenario runs in a child ``chaos run`` with DOCKER_HOST at the second engine (this process's
engine client and Testcontainers settings are per process). Its images are loaded from the first
engine (docker save | load) or built. The run's journal and failpoints reach the runner through
its run service, not a shared folder, and the app's database lives in a volume on that engine,
with the producer beside the workers: no container has a bind mount (README, "Several engines").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from chaos.stack.docker.labels import LABEL_MANAGED, LABEL_ROLE, LABEL_RUN_ID
from tests.needs import unavailable

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
SECOND = "tcp://127.0.0.1:2385"


def _first_bridge_present() -> bool:
    return subprocess.run(["ip", "link", "show", "docker0"], capture_output=True,
                          timeout=10).returncode == 0  # fmt: skip


@pytest.fixture(scope="module")
def second_engine() -> Iterator[docker.DockerClient]:
    if os.geteuid() != 0:
        unavailable("starting a second dockerd needs root")
    script = ["bash", str(ROOT / "scripts/second-engine")]
    was_running = subprocess.run([*script, "status"], capture_output=True, timeout=30).returncode == 0
    started = subprocess.run([*script, "start"], capture_output=True, text=True, timeout=120)
    # As root with dockerd installed (what the docker tests need anyway) it must start.
    assert started.returncode == 0, f"the second engine did not start: {started.stderr[-400:]}"
    # ... and leave the first engine's default bridge alone (a dockerd restarted with a stale
    # network store deleted docker0, and the first engine could build no image after it).
    assert _first_bridge_present(), "starting the second engine removed the first's docker0"
    yield docker.DockerClient(base_url=SECOND, timeout=120)
    if not was_running:  # leave nothing running that this test started
        subprocess.run([*script, "stop"], capture_output=True, timeout=120, check=False)
    assert _first_bridge_present(), "stopping the second engine removed the first's docker0"


def test_library_scenario_runs_on_the_second_engine(second_engine, tmp_path):
    since = int(time.time()) - 1
    env = {**os.environ, "DOCKER_HOST": SECOND,
           "CHAOS_DOCKER_HOSTS": f"unix:///var/run/docker.sock,{SECOND}"}
    completed = subprocess.run(
        [sys.executable, "-m", "chaos", "run", str(ROOT / "scenarios/proxy-down.yaml"),
         "--backend", "docker", "--out", str(tmp_path), "--no-picture"],
        capture_output=True, text=True, timeout=600, env=env, cwd=ROOT,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    report = json.loads(next(tmp_path.rglob("report.json")).read_text())
    assert report.get("ok", True) is True, report

    # The stack's containers were created on the second engine, not the first.
    events = list(second_engine.events(since=since, until=int(time.time()) + 1, decode=True,
                                       filters={"type": "container", "event": "create",
                                                "label": [f"{LABEL_MANAGED}=true"]}))  # fmt: skip
    roles = {event["Actor"]["Attributes"].get(LABEL_ROLE) for event in events}
    run_ids = {event["Actor"]["Attributes"].get(LABEL_RUN_ID) for event in events}
    # The producer too: the app's database lives in that engine's volume.
    assert {"redis", "proxy", "worker", "producer"} <= roles, roles
    assert len(run_ids) == 1, run_ids
    first = docker.from_env(environment={})
    on_first = first.events(since=since, until=int(time.time()) + 1, decode=True,
                            filters={"type": "container", "event": "create",
                                     "label": [f"{LABEL_RUN_ID}={run_ids.pop()}"]})  # fmt: skip
    assert not list(on_first), "the run also created containers on the first engine"


def _created_run_ids(client: docker.DockerClient, since: int) -> set[str]:
    events = client.events(since=since, until=int(time.time()) + 1, decode=True,
                           filters={"type": "container", "event": "create",
                                    "label": [f"{LABEL_MANAGED}=true"]})  # fmt: skip
    return {event["Actor"]["Attributes"].get(LABEL_RUN_ID) for event in events}


def test_run_jobs_puts_each_slot_on_its_engine(second_engine, tmp_path):
    first_url = "unix:///var/run/docker.sock"
    since = int(time.time()) - 1
    env = {key: value for key, value in os.environ.items()
           if key not in ("DOCKER_HOST", "CHAOS_DOCKER_HOSTS")}  # fmt: skip
    completed = subprocess.run(
        [sys.executable, "-m", "chaos", "run", str(ROOT / "scenarios/proxy-down.yaml"),
         str(ROOT / "scenarios/failpoint-send-invoice-email.yaml"), "--backend", "docker",
         "--jobs", "2", "--docker-hosts", f"{first_url},{SECOND}", "--out", str(tmp_path),
         "--no-report"],
        capture_output=True, text=True, timeout=600, env=env, cwd=ROOT,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-2000:]
    ended = [line for line in completed.stdout.splitlines() if line.startswith("[")]
    on = {line.split()[2]: line.rsplit(" on ", 1)[1] for line in ended}
    assert on == {"proxy-down": first_url, "failpoint-send-invoice-email": SECOND}, ended

    # Each stack's containers were created on the engine its line names, and only there.
    run_id = {name: next(tmp_path.glob(f"{name}-2*")).name for name in on}
    on_second = _created_run_ids(second_engine, since)
    on_first = _created_run_ids(docker.from_env(environment={}), since)
    assert run_id["failpoint-send-invoice-email"] in on_second - on_first
    assert run_id["proxy-down"] in on_first - on_second


STACK_ON_THE_SECOND_ENGINE = """
import json, os, sys
from pathlib import Path
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "myproject.settings")
django.setup()
from chaos.producer import Producer
from chaos.stack.base import StackConfig
from chaos.stack.docker import DockerStack, engine_client
from chaos.stack.docker.labels import LABEL_RUN_ID
from myproject.celery import app

with DockerStack(StackConfig(workers=1, run_dir=Path(sys.argv[1]), start_timeout=120)) as stack:
    containers = engine_client().containers.list(
        all=True, filters={"label": f"{LABEL_RUN_ID}={stack.run_id}"})
    mounts = {c.name: [f"{m['Type']}:{m.get('Name') or m['Source']}" for m in c.attrs["Mounts"]]
              for c in containers}
    with Producer.for_stack(app, stack) as producer:
        sent = producer.send("shop.tasks.send_invoice_email", args=[7], key="order=7")
    print(json.dumps({"mounts": mounts, "task_id": sent.task_id, "run_id": stack.run_id,
                      "run_dir": str(stack.run_dir.resolve())}))
    sys.stdout.flush()
    sys.stdin.readline()  # the test reads the journal while the stack is up
"""


def test_a_stack_on_the_second_engine_has_no_bind_mount(second_engine, tmp_path):
    from chaos.stack.base import REFERENCE_APP_DIR

    from .conftest import wait_for_event

    env = {**os.environ, "DOCKER_HOST": SECOND,
           "PYTHONPATH": os.pathsep.join([str(REFERENCE_APP_DIR), str(ROOT)])}  # fmt: skip
    child = subprocess.Popen([sys.executable, "-c", STACK_ON_THE_SECOND_ENGINE, str(tmp_path)],
                             env=env, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        line = child.stdout.readline()  # type: ignore[union-attr]
        assert line, child.stderr.read()[-3000:]  # type: ignore[union-attr]
        seen = json.loads(line)
        # The worker on the other engine journals into this machine's run directory, live.
        assert wait_for_event(Path(seen["run_dir"]), "task.succeeded", seen["task_id"])
    finally:
        child.communicate("\n", timeout=120)
    assert child.returncode == 0
    run = f"chaos-{seen['run_id']}"
    mounts = seen["mounts"]
    assert {f"{run}-redis", f"{run}-redis-net", f"{run}-proxy", f"{run}-worker-1"} <= set(mounts)
    # No bind mount anywhere; the worker mounts the run's app-data volume (the database).
    assert not {name: m for name, m in mounts.items() if any(x.startswith("bind:") for x in m)}
    assert f"volume:{run}-app" in mounts[f"{run}-worker-1"], mounts
    left = second_engine.containers.list(all=True,
                                         filters={"label": f"{LABEL_RUN_ID}={seen['run_id']}"})
    assert not left, [c.name for c in left]
