"""Pure functions of the probe, the producer and the launcher's config handling (no processes)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from celery import Celery

from chaos.errors import ConfigError
from chaos.journal import args_digest
from chaos.probe import declared_policy
from chaos.producer import may_have_been_sent
from chaos.stack import open_stack
from chaos.stack._config import validate_config
from chaos.stack.base import StackConfig


def test_args_digest_is_stable_and_ignores_kwarg_order() -> None:
    assert args_digest([1, "a"], {"x": 1, "y": 2}) == args_digest((1, "a"), {"y": 2, "x": 1})
    assert args_digest([1], None) != args_digest([2], None)


def test_declared_policy_reads_what_the_code_declares() -> None:
    app = Celery("policy-probe", set_as_current=False)

    @app.task(bind=True, max_retries=3, default_retry_delay=5, acks_late=True)
    def bound(self, order_id):  # pragma: no cover - never run
        return order_id

    @app.task(autoretry_for=(ValueError,), retry_backoff=2, retry_jitter=False)
    def plain(order_id):  # pragma: no cover - never run
        return order_id

    bound_policy = declared_policy(bound)
    assert bound_policy["bind"] is True
    assert bound_policy["max_retries"] == 3
    assert bound_policy["default_retry_delay"] == 5
    assert bound_policy["acks_late"] is True
    plain_policy = declared_policy(plain)
    assert plain_policy["bind"] is False
    assert plain_policy["autoretry_for"] == ["builtins.ValueError"]
    assert plain_policy["retry_backoff"] == 2
    assert plain_policy["retry_jitter"] is False


def _chained(outer: Exception, inner: Exception) -> Exception:
    outer.__cause__ = inner
    return outer


@pytest.mark.parametrize(
    ("exc", "uncertain"),
    [
        (_chained(OSError("x"), ConnectionError("Error 111 connecting to 127.0.0.1:1.")), False),
        (_chained(OSError("x"), TimeoutError("Timeout connecting to server")), False),
        (_chained(OSError("x"), TimeoutError("Timeout reading from socket")), True),
        (_chained(OSError("x"), ConnectionError("Connection closed by server.")), True),
    ],
)
def test_a_publish_is_uncertain_unless_it_failed_while_connecting(
    exc: Exception, uncertain: bool
) -> None:
    assert may_have_been_sent(exc) is uncertain


def test_bad_config_names_each_field(tmp_path) -> None:
    config = StackConfig(workdir=tmp_path / "missing", workers=-1, pool="gevent")  # type: ignore[arg-type]
    with pytest.raises(ConfigError) as caught:
        validate_config(config)
    fields = {problem.field_path for problem in caught.value.problems}
    assert fields == {"workdir", "workers", "pool"}


def test_unknown_backend_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown stack backend"):
        open_stack(StackConfig(), backend="kubernetes")


def test_the_producer_does_not_import_the_worker_side_probe() -> None:
    probe = "import sys, chaos.producer; print('chaos.probe' in sys.modules)"
    finished = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                              timeout=60, check=True)  # fmt: skip
    assert finished.stdout.strip() == "False"
