"""The launcher of a worker spawned before the proxy listens: it reads the broker URL from a file.

Real launcher processes (``python -m chaos.stack.launch``), no broker needed: the URL wait
comes before anything connects.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from chaos.stack.launch import ENV_BROKER_URL_FILE, ENV_BROKER_WAIT, EXIT_NO_BROKER

PLAIN_APP_DIR = Path(__file__).resolve().parent / "apps"


def _launch(env_extra: dict[str, str], timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAOS_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)  # pytest-django's; plainapp is no Django app
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-m", "chaos.stack.launch", "plainapp", "--hostname", "w@test"],
        cwd=PLAIN_APP_DIR, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def test_a_url_file_never_written_ends_the_launcher_with_exit_3_naming_the_file(
    tmp_path: Path,
) -> None:
    url_file = tmp_path / "broker-url"
    done = _launch({ENV_BROKER_URL_FILE: str(url_file), ENV_BROKER_WAIT: "0.5"})
    assert done.returncode == EXIT_NO_BROKER, done.stderr
    assert str(url_file) in done.stderr
    assert "never wrote the broker URL" in done.stderr


def test_the_url_in_the_file_is_the_broker_the_launcher_waits_for(tmp_path: Path) -> None:
    # A port bound but not listening refuses connections: the launcher must get past the URL
    # wait and report that broker (not the app's default) as the one that never answered.
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        url = f"redis://127.0.0.1:{held.getsockname()[1]}/0"
        url_file = tmp_path / "broker-url"
        url_file.write_text(url + "\n", encoding="utf-8")
        done = _launch({ENV_BROKER_URL_FILE: str(url_file), ENV_BROKER_WAIT: "0.5"})
    assert done.returncode == EXIT_NO_BROKER, done.stderr
    assert f"{url} never answered PING" in done.stderr
