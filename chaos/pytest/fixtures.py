"""The plugin's fixtures, layered like pytest-celery's: each small and overridable in a conftest.

``chaos_app`` (what to run) -> ``chaos_stack`` (one stack per session, or per xdist worker) ->
``chaos_broker``, ``chaos_proxy``, ``chaos_workers``, ``chaos_journal`` (handles, the stack reset
before each test) and ``chaos_producer`` (journaled publishes through the proxy); ``chaos_run`` runs
a whole scenario on a stack of its own. Every name has the ``chaos_`` prefix so that it cannot clash
with a project's own fixtures; the short names of earlier releases (``broker``, ``proxy``,
``workers``, ``journal``) still work for one release, with a deprecation warning, and a project's
own fixture of such a name overrides them as any conftest fixture overrides a plugin's.
Nothing heavy is imported until a fixture is used: this module is loaded in
every pytest session of a project that installs the plugin.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from chaos.errors import ChaosError, StackError
from chaos.pytest.journal import JournalView
from chaos.pytest.options import ChaosOptions, options_for
from chaos.stack.base import BrokerHandle, Stack, StackConfig, WorkerHandle

#: Set on a test item when one of its phases failed (the plugin's makereport hook sets it).
failed_key = pytest.StashKey[bool]()


@pytest.fixture(scope="session")
def chaos_options(pytestconfig: pytest.Config) -> ChaosOptions:
    """``--chaos-backend``, ``--chaos-seed``, ``--chaos-out``, ``--chaos-keep`` as one value."""
    return options_for(pytestconfig)


@pytest.fixture(scope="session")
def chaos_app() -> StackConfig:
    """Which Celery app the stack runs, and how. Override it in your conftest to point the suite
    at your own project, e.g. ``StackConfig(app="proj", workdir=ROOT, settings_module=None)``."""
    return StackConfig()


@pytest.fixture(scope="session")
def chaos_stack(
    request: pytest.FixtureRequest, chaos_app: StackConfig, chaos_options: ChaosOptions
) -> Iterator[Stack]:
    """Redis, the fault proxy and the workers, started once per session (per xdist worker, on
    its own free ports) and stopped at the end, also after a failure or Ctrl-C. Tests using it
    get it reset first (see ``reset_stack``); a stack that cannot start is a test error."""
    from dataclasses import replace

    from chaos.stack import open_stack

    parent = chaos_options.run_parent()
    parent.mkdir(parents=True, exist_ok=True)
    config = chaos_app
    ours = config.run_dir is None  # a run directory the user chose is never removed
    if ours:
        import tempfile

        config = replace(config, run_dir=Path(tempfile.mkdtemp(prefix="session-", dir=parent)))
    if chaos_options.seed is not None:
        config = replace(config, seed=chaos_options.seed)
    failures_before = request.session.testsfailed
    with contextlib.ExitStack() as exits:
        problem = None
        try:
            stack = exits.enter_context(open_stack(config, backend=chaos_options.backend))
        except StackError as exc:
            problem = (f"the chaos stack could not start ({chaos_options.backend} backend; an "
                       f"infrastructure error, not a verdict):\n{exc}")
        if problem is not None:
            pytest.fail(problem, pytrace=False)
        yield stack
    if ours and not chaos_options.keep and request.session.testsfailed == failures_before:
        shutil.rmtree(stack.run_dir, ignore_errors=True)


def _purge_queues(stack: Stack) -> bool:
    """Delete every queued and unacknowledged message; True if a worker held some (unacked)."""
    import redis

    client = redis.Redis.from_url(stack.broker.direct_url, socket_timeout=2.0,
                                  socket_connect_timeout=2.0)  # fmt: skip
    try:
        held = int(client.hlen("unacked")) > 0
        # Only the messages: kombu's binding sets must stay, or publishes would route nowhere.
        doomed = [key for key in client.scan_iter(count=1000) if client.type(key) == b"list"]
        doomed += [b"unacked", b"unacked_index", b"unacked_mutex"]
        client.delete(*doomed)
        return held
    finally:
        client.close()


def reset_stack(stack: Stack, config: StackConfig) -> None:
    """Put a session stack back to its starting state: no toxics and the proxy enabled, the
    broker running and not paused, the configured workers alive, the queues empty. Workers that
    held unacknowledged messages (reserved, ETA) are restarted so they forget them."""
    stack.proxy.reset()
    broker = stack.broker
    if not broker.is_running():
        broker.start()
    elif broker.paused:
        broker.resume()
    held = _purge_queues(stack)
    for worker in stack.workers:
        if held and worker.is_alive():
            worker.kill()
        if not worker.is_alive():
            worker.start()
    for worker in stack.workers:
        worker.wait_ready(config.start_timeout)
    if len(stack.workers) != config.workers:
        stack.scale(config.workers)


@pytest.fixture(autouse=True)
def _chaos_between_tests(request: pytest.FixtureRequest) -> Iterator[None]:
    """Reset the session stack before each test that uses it (``@pytest.mark.chaos(reset=False)``
    opts out). Free for tests that do not use it: they never start a stack."""
    if "chaos_stack" not in request.fixturenames:
        yield
        return
    marker = request.node.get_closest_marker("chaos")
    if marker is None or marker.kwargs.get("reset", True):
        stack = request.getfixturevalue("chaos_stack")
        reset_stack(stack, request.getfixturevalue("chaos_app"))
    yield


@pytest.fixture
def chaos_broker(chaos_stack: Stack) -> BrokerHandle:
    """The Redis server behind the proxy: ``kill``, ``stop``, ``pause``, ``resume``, ``start``."""
    return chaos_stack.broker


@pytest.fixture
def chaos_proxy(chaos_stack: Stack) -> Any:
    """The proxy in front of Redis: ``with chaos_proxy.toxic("latency", latency=500): ...``,
    ``disable()``, ``enable()``, ``reset()`` (Toxiproxy's API and words)."""
    return chaos_stack.proxy


@pytest.fixture
def chaos_workers(chaos_stack: Stack) -> Sequence[WorkerHandle]:
    """The running workers: ``chaos_workers[0].kill()``, ``.terminate(grace)``, ``.start()``."""
    return chaos_stack.workers


@pytest.fixture
def chaos_journal(chaos_stack: Stack, request: pytest.FixtureRequest) -> Iterator[JournalView]:
    """What the stack journaled during this test only; pass it to the assertion helpers. Its
    first event is ``test.started``: the test's times count from it, as a run's from run.started."""
    view = JournalView(chaos_stack.journal_path)
    view.write("test.started", test=request.node.nodeid)
    yield view
    view.close()


#: The short names of earlier releases -> the fixture that replaces each (removed next release).
DEPRECATED_ALIASES = {
    "broker": "chaos_broker",
    "proxy": "chaos_proxy",
    "workers": "chaos_workers",
    "journal": "chaos_journal",
}


def _deprecated_alias(old: str, new: str) -> Any:
    """A fixture ``old`` that warns and returns ``new``'s value. A project's own fixture named
    ``old`` overrides it as a conftest fixture overrides any plugin's, and then neither this
    warning nor the stack is pulled in. It names ``chaos_stack`` so that the stack is reset
    before the test like for ``new`` (``_chaos_between_tests`` looks for it)."""

    def alias(request: pytest.FixtureRequest, chaos_stack: Stack) -> Any:
        import warnings

        warnings.warn(
            pytest.PytestDeprecationWarning(
                f"the {old!r} fixture of celery-chaos is deprecated and goes in the next "
                f"release: use {new!r} (same value)"
            ),
            stacklevel=2,
        )
        return request.getfixturevalue(new)

    alias.__name__ = old
    alias.__doc__ = f"Deprecated: use ``{new}``."
    return pytest.fixture(name=old)(alias)


broker = _deprecated_alias("broker", "chaos_broker")
proxy = _deprecated_alias("proxy", "chaos_proxy")
workers = _deprecated_alias("workers", "chaos_workers")
journal = _deprecated_alias("journal", "chaos_journal")


def draw_test_timeline(item: pytest.Item, view: JournalView) -> str:
    """Draw the timeline of a failed test's slice of the journal, beside the session's run
    directory (``tests/<test name>/``); returns the text of the report section naming it."""
    import re

    from chaos.report import write_timeline

    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", item.nodeid).strip("-")[:120]
    folder = view.path.parent / "tests" / slug
    folder.mkdir(parents=True, exist_ok=True)
    try:
        paths = write_timeline(folder, view.history(), title=item.name)
    except (ChaosError, OSError, ValueError, RuntimeError) as exc:  # the failure matters more
        return f"could not draw this test's timeline: {exc!r}\n"
    return f"timeline of this test: {paths.png} (and timeline.svg beside it)\n"


@pytest.fixture(scope="session")
def chaos_celery_app(chaos_app: StackConfig) -> Any:
    """The Celery app object, imported in this process as ``celery -A`` would (the producer
    needs its task names and serializer settings). A Django app's settings must be configured:
    pytest-django does that, or this fixture does it from ``settings_module``."""
    import os

    from celery.app.utils import find_app

    from chaos.celery_compat import update_conf

    workdir = str(Path(chaos_app.workdir).resolve())
    if workdir not in sys.path:
        sys.path.insert(0, workdir)
    os.environ.update(chaos_app.env)  # the app's settings read it at import, as its workers do
    if chaos_app.settings_module:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", chaos_app.settings_module)
        import django
        from django.apps import apps

        if not apps.ready:
            django.setup()
    app = find_app(chaos_app.app)
    update_conf(app, chaos_app.celery_settings)
    return app


@pytest.fixture
def chaos_producer(chaos_celery_app: Any, chaos_stack: Stack) -> Iterator[Any]:
    """Journaled, time-bounded publishes through the proxy: ``chaos_producer.send(name, args,
    key="order=1")`` never hangs on a hung broker and records what happened in the journal."""
    from chaos.celery_compat import stack_result_backend
    from chaos.producer import Producer

    # A Redis result backend subscribes for the result at send time: the stack's Redis, through
    # the proxy, never the project's own.
    stack_result_backend(chaos_celery_app, chaos_stack.producer_broker_url,
                         chaos_stack.config.celery_settings)  # fmt: skip
    producer = Producer.for_stack(chaos_celery_app, chaos_stack)
    yield producer
    producer.close()


ScenarioRunner = Callable[..., Any]


@pytest.fixture
def chaos_run(request: pytest.FixtureRequest, chaos_options: ChaosOptions) -> Iterator[ScenarioRunner]:
    """``chaos_run(scenario, seed=None)`` runs a scenario (a file path or a dict) on a stack of
    its own and returns the runner's RunResult (``.verdicts``, ``.ok``, ``.run_dir``). Its
    verdicts go into the JUnit XML; its run directory is removed if the test passes (unless
    ``--chaos-keep``)."""
    from chaos.pytest.scenarios import note_kept_run, record_result, run_for_pytest

    results: list[Any] = []

    def run(scenario: str | Path | Mapping[str, Any] | Any, *, seed: int | None = None,
            **options: Any) -> Any:
        result = run_for_pytest(request.config, scenario, seed=seed, **options)
        results.append(result)
        record_result(request.node, result)
        return result

    yield run
    failed = request.node.stash.get(failed_key, False)
    for result in results:
        run_dir = getattr(result, "run_dir", None)
        if run_dir is None:
            continue
        if failed:
            note_kept_run(request.config, request.node.nodeid, Path(run_dir))
        elif not chaos_options.keep:
            shutil.rmtree(run_dir, ignore_errors=True)


__all__ = [
    "DEPRECATED_ALIASES",
    "broker",
    "chaos_app",
    "chaos_broker",
    "chaos_celery_app",
    "chaos_journal",
    "chaos_options",
    "chaos_producer",
    "chaos_proxy",
    "chaos_run",
    "chaos_stack",
    "chaos_workers",
    "journal",
    "proxy",
    "reset_stack",
    "workers",
]
