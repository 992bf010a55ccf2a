"""The soak's leftover check (benchmarks/soak.py) sees a live stack's processes and ports, and
nothing once the stack is closed: a clean bill from it is not an accident."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from chaos.stack import LocalStack
from chaos.stack.base import StackConfig

SOAK_FILE = Path(__file__).resolve().parents[3] / "benchmarks" / "soak.py"


def _soak():
    spec = importlib.util.spec_from_file_location("soak_leftovers_under_test", SOAK_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_leftovers_of_names_a_live_stack_and_nothing_after_close(plain_config: StackConfig):
    soak = _soak()
    stack = LocalStack(plain_config)
    try:
        stack.start()
        live, ports = soak.leftovers_of(stack.run_dir, "local")
        assert ports >= 2  # Redis and the proxy's listener at least
        assert any(item.startswith("process ") for item in live), live
        assert f"port {stack.broker.port} listening" in live
        assert f"run {stack.run_id} registered" in live
    finally:
        stack.close()
    assert soak.leftovers_of(stack.run_dir, "local") == ([], ports)
