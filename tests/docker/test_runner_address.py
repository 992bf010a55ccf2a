"""``CHAOS_DOCKER_RUNNER_ADDRESS``: where an engine's containers dial the runner, for both the run
service (journal, failpoints) and the relays of the scenario's stub endpoints.

An engine on another machine cannot reach the stack network's gateway on this one; the variable
names an address of the runner it can reach. Here that address is the gateway of a second
labelled network of the project's own (an address of this machine that is not the stack's
gateway), so the run proves both channels follow the variable and still work end to end: the
warehouse stub answers through the relay (notify_warehouse(1) succeeds on its 4th attempt) and the
workers' events reach the journal through the run service.
"""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from chaos.runner.run import run_scenario
from chaos.stack.docker import stack as docker_stack_module
from chaos.stack.docker.host_relay import HostLoopbackRelay
from chaos.stack.docker.labels import run_labels
from chaos.stack.docker.run_service import ENV_RUNNER_ADDRESS, RunService

pytestmark = pytest.mark.docker

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "notify-warehouse-backoff.yaml"


def test_the_run_service_and_the_stub_relays_listen_on_the_runner_address(
    docker_images, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = docker.from_env()
    name = f"chaos-runner-address-{tmp_path.name}"[:60]
    network = client.networks.create(name, labels=run_labels(name, "network"))
    try:
        network.reload()
        address = network.attrs["IPAM"]["Config"][0]["Gateway"]
        relays: list[str] = []
        services: list[str] = []

        class RecordedRelay(HostLoopbackRelay):
            def __init__(self, gateway_ip: str) -> None:
                super().__init__(gateway_ip)
                relays.append(gateway_ip)

        class RecordedService(RunService):
            def __init__(self, run_dir: Path, host: str) -> None:
                super().__init__(run_dir, host)
                services.append(self.address)

        monkeypatch.setattr(docker_stack_module, "HostLoopbackRelay", RecordedRelay)
        monkeypatch.setattr(docker_stack_module, "RunService", RecordedService)
        monkeypatch.setenv(ENV_RUNNER_ADDRESS, address)
        result = run_scenario(SCENARIO, backend="docker", out_dir=tmp_path, quiet=True)
    finally:
        network.remove()
    failed = [str(verdict) for verdict in result.verdicts if not getattr(verdict, "ok", True)]
    assert result.ok, f"{failed}; run dir {result.run_dir}"
    assert relays == [address]
    assert len(services) == 1 and services[0].startswith(f"{address}:")
