"""The outside services a scenario's tasks call, started as real stub endpoints for the run.

A task such as the seed's ``risky_task`` books a carrier over HTTP; "the carrier fails twice, then
answers" is part of the scenario, so the runner starts a ``chaos.stubs.StubEndpoint`` per entry of
``endpoints:`` and hands its URL to the workers through the environment variable the app reads.
"""

from __future__ import annotations

from contextlib import ExitStack

from chaos.scenario.model import Scenario
from chaos.stubs import StubEndpoint


def start_endpoints(scenario: Scenario, services: ExitStack) -> dict[str, str]:
    """Start every stub endpoint of the scenario on 127.0.0.1; the workers' environment for them.

    The stubs stop when ``services`` closes.
    """
    environment: dict[str, str] = {}
    for spec in scenario.endpoints.values():
        fail_first = None if spec.fail_first == "always" else spec.fail_first
        stub = services.enter_context(
            StubEndpoint(fail_first=fail_first, fail_status=spec.fail_status)
        )
        environment[spec.env] = stub.url
    return environment
