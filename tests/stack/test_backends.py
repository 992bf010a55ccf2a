"""The backend registry: a new backend is a Stack subclass and one registration, and then every
place that names backends (``chaos run``, ``chaos replay``, ``--chaos-backend``, ``open_stack``)
offers it. No stack is started here."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaos.cli import build_parser
from chaos.errors import ConfigError, StackError
from chaos.stack import open_stack
from chaos.stack.backends import BACKENDS, backend_names, register_backend, unregister_backend
from chaos.stack.base import BrokerProxyHandle, StackConfig
from chaos.stack.docker.stack import DockerStack
from chaos.stack.local.stack import LocalStack

from .throwaway_backend import NAME, ThrowawayStack

pytest_plugins = ["pytester"]

INNER = ("-p", "no:django", "-p", "no:hypothesispytest", "-p", "no:cacheprovider")

#: What a project's conftest does to add a backend.
CONFTEST = f"""\
from chaos.stack.backends import register_backend

register_backend({NAME!r}, "tests.stack.throwaway_backend:ThrowawayStack")
"""

#: What an installed package declares to add one (read before pytest parses its options).
ENTRY_POINTS = f"""\
[chaos.backends]
{NAME} = tests.stack.throwaway_backend:ThrowawayStack
"""


@pytest.fixture
def throwaway_backend() -> Iterator[str]:
    register_backend(NAME, ThrowawayStack)
    try:
        yield NAME
    finally:
        unregister_backend(NAME)


@pytest.fixture
def inner_registers_throwaway(pytester: pytest.Pytester) -> Iterator[pytest.Pytester]:
    """An inner project whose conftest registers the backend (forgotten afterwards: the inner
    session runs in this process)."""
    pytester.makeconftest(CONFTEST)
    try:
        yield pytester
    finally:
        unregister_backend(NAME)


@pytest.fixture
def installed_throwaway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The backend as a package on the path would declare it (a dist-info with an entry point)."""
    dist_info = tmp_path / "site" / "chaos_throwaway-0.1.dist-info"
    dist_info.mkdir(parents=True)
    metadata = "Metadata-Version: 2.1\nName: chaos-throwaway\nVersion: 0.1\n"
    (dist_info / "METADATA").write_text(metadata)
    (dist_info / "entry_points.txt").write_text(ENTRY_POINTS)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    return NAME


def test_the_built_in_backends_resolve_to_their_stack_classes() -> None:
    assert list(backend_names) == ["local", "docker"]
    assert isinstance(open_stack(StackConfig(workers=0), backend="local"), LocalStack)
    assert isinstance(open_stack(StackConfig(workers=0), backend="docker"), DockerStack)


def test_an_unknown_backend_is_a_config_error_naming_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="local | docker"):
        open_stack(backend="nomad")


def test_a_registered_backend_is_opened_by_name(throwaway_backend: str) -> None:
    stack = open_stack(StackConfig(), backend=throwaway_backend)
    assert isinstance(stack, ThrowawayStack)
    with pytest.raises(StackError, match="no cluster"), stack:
        pass


@pytest.mark.parametrize("command", ["run", "replay"])
def test_a_registered_backend_is_a_choice_of_the_cli(
    throwaway_backend: str, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = build_parser(command)
    target = "scenarios/proxy-down.yaml" if command == "run" else ".chaos/runs/some-run"
    args = parser.parse_args([command, target, "--backend", throwaway_backend])
    assert args.backend == throwaway_backend
    with pytest.raises(SystemExit):
        parser.parse_args([command, "--help"])
    assert "--backend {local,docker,kubernetes}" in capsys.readouterr().out


def test_an_installed_backend_is_a_choice_of_the_cli(installed_throwaway: str) -> None:
    args = build_parser("run").parse_args(["run", "x.yaml", "--backend", installed_throwaway])
    assert args.backend == installed_throwaway
    assert isinstance(open_stack(StackConfig(), backend=installed_throwaway), ThrowawayStack)


def test_a_backend_that_cannot_be_imported_is_a_stack_error() -> None:
    register_backend("broken", "chaos_no_such_package.stack:BrokenStack")
    try:
        with pytest.raises(StackError, match="broken backend .* cannot be imported"):
            open_stack(backend="broken")
    finally:
        unregister_backend("broken")


def test_the_cli_refuses_a_backend_nobody_registered(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser("run").parse_args(["run", "x.yaml", "--backend", NAME])
    assert exited.value.code == 2
    assert "invalid choice: 'kubernetes'" in capsys.readouterr().err


def test_a_backend_registered_by_a_conftest_is_a_choice_of_the_pytest_option(
    inner_registers_throwaway: pytest.Pytester,
) -> None:
    result = inner_registers_throwaway.runpytest(*INNER, "--help")
    result.stdout.fnmatch_lines(["*--chaos-backend={local,docker,kubernetes}*"])


def test_the_pytest_option_opens_an_installed_backend(
    pytester: pytest.Pytester, installed_throwaway: str
) -> None:
    pytester.makepyfile(test_on_kubernetes=textwrap.dedent("""\
        def test_uses_the_stack(chaos_options, chaos_stack):
            pass
    """))
    result = pytester.runpytest(*INNER, "--chaos-backend", installed_throwaway)
    result.assert_outcomes(passed=0, errors=1)
    result.stdout.fnmatch_lines([
        "*the chaos stack could not start (kubernetes backend; an infrastructure error*",
        "*no cluster to deploy to*",
    ])


def test_the_pytest_option_refuses_an_unregistered_backend(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(*INNER, "--chaos-backend", NAME)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--chaos-backend: invalid choice: 'kubernetes'*"])


def test_the_proxy_client_handle_keeps_the_stack_proxy_promises() -> None:
    from chaos.proxy import ProxyHandle, ToxiproxyClient

    fields = {"name": "redis", "listen": "127.0.0.1:1", "upstream": "127.0.0.1:2", "enabled": True}
    handle = ProxyHandle(ToxiproxyClient("http://127.0.0.1:1"), fields)
    assert isinstance(handle, BrokerProxyHandle)
    assert "kubernetes" not in BACKENDS
