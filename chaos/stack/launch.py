"""The worker launcher: ``python -m chaos.stack.launch APP [--hostname H --pool P -Q A,B ...]``.

Runs ``celery worker`` for any Celery app without editing it: imports the app (as ``celery -A``
finds it), applies the stack's Celery settings (JSON in ``$CHAOS_CELERY_SETTINGS``) before the app
is finalized, installs the probe, sets Django up if the app is a Django one, then waits for the
broker to answer PING (bounded by ``$CHAOS_BROKER_WAIT`` seconds) before the worker starts. That
wait lets the stack start the worker's imports at the same time as Redis and the proxy: a worker
whose first connect fails sleeps 2 s before its retry, which would cost more than the overlap wins.
Only at the stack's start: a worker launched once the stack is up (``STACK_UP_FILE`` in the run
directory: a fault's restart, a scale-out) starts at once and meets the broker as production's
does, through Celery's own connection retry at start-up (``broker_connection_retry_on_startup``),
so that a worker started while Redis is down is a fault a scenario can really inject.

When the stack spawns a worker before its proxy listens, the broker URL is not known yet:
``$CHAOS_BROKER_URL_FILE`` names the file the stack writes it to. The launcher imports what does
not depend on the environment (Celery's worker, kombu, redis-py, Django) while it waits for that
file, then sets ``CELERY_BROKER_URL`` before the app (whose settings read it at import) is imported.

It builds the worker with ``app.Worker(...)`` as ``celery worker`` does after parsing its options,
without importing Celery's command line: ``celery.bin.celery`` pulls in click-repl and
prompt_toolkit, measured at 0.3 s idle and over 1 s on a loaded machine, a third of a cold start.
Mingle, gossip and heartbeat are on unless ``--without-<step>`` says otherwise, as with
``celery worker`` (mingle alone costs about 1 s at start).

Exit codes: 2 when the app cannot be found or imported, 3 when the broker never answered, 4 when
a dilated worker is not on the run's clock (``chaos.clockcheck``), otherwise the worker's own
exit code.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from chaos.stack.shape import WorkerShape

ENV_CELERY_SETTINGS = "CHAOS_CELERY_SETTINGS"
ENV_BROKER_WAIT = "CHAOS_BROKER_WAIT"
ENV_SPAWN_WALL = "CHAOS_SPAWN_WALL"
ENV_BROKER_URL_FILE = "CHAOS_BROKER_URL_FILE"
#: JSON {"module", "text"}: a settings module the launcher writes and puts on sys.path (the docker
#: backend's Django settings wrapper: a container has no file of the runner's machine).
ENV_SETTINGS_WRAPPER = "CHAOS_SETTINGS_WRAPPER"
#: The stack writes it in the run directory once its start-up is over (chaos.stack.launch).
STACK_UP_FILE = "stack.up"
EXIT_BAD_APP = 2
EXIT_NO_BROKER = 3
EXIT_WRONG_CLOCK = 4


def _since_spawn() -> float | None:
    """Seconds since the stack asked for this worker: the interpreter's (or the fork's) start.

    The stack passes its wall clock in ``$CHAOS_SPAWN_WALL``; a process's own create time is no
    good here (psutil derives it from the boot time, which /proc gives in whole seconds).
    """
    spawned = os.environ.get(ENV_SPAWN_WALL)
    return time.time() - float(spawned) if spawned else None


def launcher_argv(
    python: str, app: str, *, hostname: str, shape: WorkerShape, loglevel: str = "INFO"
) -> list[str]:
    """The command line that runs this launcher: the one both backends use, kept beside the
    parser that reads it so the two cannot drift apart."""
    return [
        python, "-m", "chaos.stack.launch", app,
        "--hostname", hostname,
        *shape.launcher_options(),
        "--loglevel", loglevel,
    ]  # fmt: skip


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m chaos.stack.launch")
    parser.add_argument("app", help="the Celery app, as celery -A takes it")
    parser.add_argument("--hostname", default=None)
    parser.add_argument("--pool", default="prefork")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--queues", "-Q", default=None, help="comma-separated, as celery -Q")
    for step in ("mingle", "gossip", "heartbeat"):
        parser.add_argument(f"--without-{step}", action="store_true")
    parser.add_argument("--prefetch-multiplier", type=int, default=None)
    parser.add_argument("--disable-prefetch", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--loglevel", default="INFO")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(list(sys.argv[1:] if argv is None else argv))
    app_path = options.app
    boot: dict[str, float] = {}
    since_spawn = _since_spawn()
    if since_spawn is not None:
        boot["spawn_to_launcher"] = since_spawn
    from chaos.clockcheck import preload_problem

    wrong_clock = preload_problem()
    if wrong_clock:  # a worker on its own clock would make the run's verdicts meaningless
        print(f"chaos launcher: not on the run's dilated clock: {wrong_clock}", file=sys.stderr)
        return EXIT_WRONG_CLOCK
    sys.path.insert(0, os.getcwd())
    write_settings_wrapper()
    wait = float(os.environ.get(ENV_BROKER_WAIT, "30"))

    broker_url: str | None = None
    url_file = os.environ.get(ENV_BROKER_URL_FILE)
    if url_file:
        began = time.monotonic()
        _import_app_independent_modules()
        boot["preimport"] = time.monotonic() - began
        began = time.monotonic()
        broker_url = _read_broker_url(url_file, wait)
        if broker_url is None:
            print(f"chaos launcher: the stack never wrote the broker URL to {url_file}",
                  file=sys.stderr)  # fmt: skip
            return EXIT_NO_BROKER
        os.environ["CELERY_BROKER_URL"] = broker_url
        boot["broker_url_wait"] = time.monotonic() - began

    began = time.monotonic()
    try:
        from celery.app.utils import find_app

        app = find_app(app_path)
    except Exception as exc:  # noqa: BLE001 - any failure of user code at import is reported
        print(f"chaos launcher: cannot import the Celery app {app_path!r} "
              f"from {os.getcwd()}: {exc!r}", file=sys.stderr)  # fmt: skip
        traceback.print_exc()
        return EXIT_BAD_APP
    boot["app_import"] = time.monotonic() - began

    overrides = json.loads(os.environ.get(ENV_CELERY_SETTINGS) or "{}")
    if broker_url is not None:
        overrides["broker_url"] = broker_url
    from chaos.celery_compat import stack_result_backend, update_conf

    update_conf(app, {**overrides, **_prefetch_settings(options)})
    stack_result_backend(app, str(app.conf.broker_url), overrides)
    from chaos.client_names import WORKER_CLIENT_PREFIX, named_transport_options

    # Named, so that broker.disconnect_clients can tell a worker's connections from the rest.
    update_conf(app, {"broker_transport_options": named_transport_options(
        app.conf.broker_transport_options, WORKER_CLIENT_PREFIX + str(options.hostname or ""))})

    from chaos import probe

    probe.install()

    if os.environ.get("DJANGO_SETTINGS_MODULE"):
        began = time.monotonic()
        try:
            import django

            django.setup()
        except Exception as exc:  # noqa: BLE001 - any failure of user settings is reported
            print(f"chaos launcher: django.setup() failed: {exc!r}", file=sys.stderr)
            traceback.print_exc()
            return EXIT_BAD_APP
        boot["django_setup"] = time.monotonic() - began

    began = time.monotonic()
    if not _stack_is_up() and not _wait_for_broker(str(app.conf.broker_url), wait):
        print(f"chaos launcher: the broker at {app.conf.broker_url} never answered PING",
              file=sys.stderr)  # fmt: skip
        return EXIT_NO_BROKER
    boot["broker_wait"] = time.monotonic() - began
    probe.boot_seconds.update(boot)
    probe.mark_worker_main()
    worker = app.Worker(
        hostname=options.hostname,
        pool_cls=options.pool,
        concurrency=options.concurrency,
        loglevel=options.loglevel,
        logfile=None,
        queues=options.queues.split(",") if options.queues else None,
        without_gossip=options.without_gossip,
        without_mingle=options.without_mingle,
        without_heartbeat=options.without_heartbeat,
        no_color=True,
    )
    worker.start()
    return int(worker.exitcode or 0)


def _prefetch_settings(options: argparse.Namespace) -> dict[str, object]:
    """This worker's own prefetch flags as settings (they win over the stack's for all)."""
    settings: dict[str, object] = {}
    if options.prefetch_multiplier is not None:
        settings["worker_prefetch_multiplier"] = options.prefetch_multiplier
    if options.disable_prefetch is not None:
        settings["worker_disable_prefetch"] = options.disable_prefetch
    return settings


#: What every worker imports, none of which reads the environment at import time.
APP_INDEPENDENT_MODULES = (
    "celery.app.utils", "celery.apps.worker", "kombu.transport.redis", "redis", "django.db.models",
)  # fmt: skip


def _import_app_independent_modules() -> None:
    import importlib

    for name in APP_INDEPENDENT_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            pass  # Django, for an app that does not use it


def write_settings_wrapper() -> None:
    """Write ``$CHAOS_SETTINGS_WRAPPER``'s module into a fresh folder first on ``sys.path``
    (a forked pool child inherits it)."""
    given = os.environ.get(ENV_SETTINGS_WRAPPER)
    if not given:
        return
    import tempfile

    wrapper = json.loads(given)
    folder = tempfile.mkdtemp(prefix="chaos-settings-")
    Path(folder, f"{wrapper['module']}.py").write_text(wrapper["text"], encoding="utf-8")
    sys.path.insert(0, folder)


def mark_stack_up(run_dir: Path) -> None:
    """Say that the stack's start-up is over: workers launched from now on do not wait for PING."""
    (run_dir / STACK_UP_FILE).touch()


def _stack_is_up() -> bool:
    from chaos import run_channel
    from chaos.journal import ENV_RUN_DIR  # imported by the probe by now

    served = run_channel.channel()  # a container of a run whose files live with the runner
    if served is not None:
        return served.ask(run_channel.STACK_UP) == "1"
    run_dir = os.environ.get(ENV_RUN_DIR)
    return bool(run_dir) and (Path(run_dir) / STACK_UP_FILE).exists()


def _read_broker_url(path: str, timeout: float) -> str | None:
    """The URL the stack writes (by rename, so never half-written) once its proxy listens."""
    from chaos.stack._waiting import poll_until

    def written() -> str | None:
        try:
            return Path(path).read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None

    # A stat every 10 ms is cheap, and this wait is on the stack's start-up path.
    return poll_until(written, timeout, interval=0.01, max_interval=0.01) or None


def _wait_for_broker(broker_url: str, timeout: float) -> bool:
    from chaos.stack._ping import redis_ping
    from chaos.stack._waiting import poll_until

    parts = urlsplit(broker_url)
    if parts.scheme not in ("redis", "rediss") or not parts.port:
        return True  # not ours to check: let Celery connect as it does
    host = parts.hostname or "127.0.0.1"
    return bool(poll_until(lambda: redis_ping(host, parts.port or 6379), timeout))


if __name__ == "__main__":
    sys.exit(main())
