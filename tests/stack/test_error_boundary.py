"""Errors at one boundary: lower-level errors (docker, redis, OS) become StackError with a hint
where a stack starts; bad input to the proxy client, failpoint plans and the pytest helpers is a
ConfigError, never a bare ValueError or TypeError."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docker.errors
import pytest
import redis.exceptions

from chaos import failpoint, failpoints
from chaos.errors import ConfigError, StackError, map_exceptions
from chaos.proxy import ToxiproxyClient
from chaos.pytest.assertions import assert_no_lost
from chaos.stack import open_stack
from chaos.stack.base import StackConfig


@pytest.mark.parametrize(
    ("error", "hint"),
    [
        (redis.exceptions.ConnectionError("Connection refused"), "broker killed, paused"),
        (docker.errors.ImageNotFound("no such image: chaos-redis"), "chaos images"),
        (docker.errors.APIError("500 Server Error"), "is the Docker engine running?"),
        (PermissionError(13, "Permission denied"), "permissions of the run directory"),
        (ConnectionRefusedError(111, "Connection refused"), "operating system call failed"),
    ],
)
def test_a_lower_level_error_becomes_a_stack_error_with_a_hint(
    error: Exception, hint: str
) -> None:
    with pytest.raises(StackError) as raised, map_exceptions("broker", "reading the queues"):
        raise error
    assert raised.value.component == "broker"
    assert "reading the queues failed" in str(raised.value)
    assert hint in raised.value.failure.hint
    assert raised.value.__cause__ is error


@pytest.mark.parametrize("error", [ConfigError("bad file"), KeyError("a bug"), ValueError("a bug")])
def test_toolkit_errors_and_bugs_pass_the_boundary_unchanged(error: Exception) -> None:
    with pytest.raises(type(error)) as raised, map_exceptions("broker", "reading the queues"):
        raise error
    assert raised.value is error


def test_a_local_stack_whose_run_directory_cannot_be_made_is_a_stack_error(
    tmp_path: Path, plain_config: StackConfig
) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    plain_config.run_dir = tmp_path / "a-file" / "run"
    with pytest.raises(StackError, match="preparing the run directory") as raised:
        open_stack(plain_config, backend="local").start()
    assert isinstance(raised.value.__cause__, NotADirectoryError)


@pytest.mark.parametrize("api_url", ["ftp://127.0.0.1:8474", "http://"])
def test_a_bad_proxy_api_address_is_a_config_error(api_url: str) -> None:
    with pytest.raises(ConfigError, match="api_url: not a Toxiproxy API address"):
        ToxiproxyClient(api_url)


@pytest.fixture
def armed_run_dir(tmp_path: Path) -> Iterator[Path]:
    failpoints.activate(tmp_path)
    yield tmp_path
    failpoints.activate(None)


@pytest.mark.parametrize(
    ("raise_", "why"),
    [("builtins.NoSuchError", "cannot be imported"), ("builtins.len", "is not an exception class"),
     ("no_such_module.Boom", "cannot be imported"),
     ("builtins.SystemExit", "is a BaseException that ends the process")],
)  # fmt: skip
def test_a_failpoint_plan_naming_no_exception_class_is_a_config_error(
    armed_run_dir: Path, raise_: str, why: str
) -> None:
    failpoints.write_plans(armed_run_dir, {"x": {"arming": "a", "raise": raise_}})
    with pytest.raises(ConfigError, match=f"raise: failpoint plan: {raise_} {why}"):
        failpoint("x")


def test_an_assertion_helper_given_no_history_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="cannot read a history from this int"):
        assert_no_lost(42)
