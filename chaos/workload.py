"""The workload process: sends a scenario's messages the way the app's users would.

Run by the runner as ``python -m chaos.workload SPEC_FILE`` with the stack's worker environment
(run directory, broker URL through the proxy, the run's database), so the app's code runs as in
production and the test process's own Django settings never leak in. Three paths:

- ``naive``: POST /orders/ through Django's test client: the seed's view, whose ``.delay()`` raises
  when the broker is down;
- ``durable``: POST /orders/durable/: order and pending task in one transaction, then the relay
  (``shop.outbox.relay_pending``) publishes; this process keeps relaying until the outbox is empty;
- ``task``: publish a task by name with its args through ``chaos.producer`` (any Celery app);
- ``http``: any request to any view of the app (``chaos.http_workload``); a status the scenario
  does not expect is journaled (``workload.unexpected``) and fails the run.

Every publish is journaled (``enqueue.tried`` / ``accepted`` / ``refused``) from Celery's publish
signals, with the task id Celery put in the message. Protocol with the runner, which spawns this
process while the stack starts: it prints ``ready`` once the app is imported, reads ``broker URL``,
warms its connections and prints ``warm``, reads ``go T0`` (a CLOCK_MONOTONIC time, shared by all
processes on Linux), sends on schedule from T0, prints ``sent`` after the last send, ``relayed``
once the outbox is empty, and exits. Every loop is bounded by the spec's deadline.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos.celery_compat import stack_result_backend, update_conf
from chaos.client_names import PRODUCER_CLIENT_NAME
from chaos.item_templates import render
from chaos.journal import ENV_RUN_DIR, JournalWriter, qualified_name

VIEW_URLS = {"naive": "/orders/", "durable": "/orders/durable/"}
RELAY_INTERVAL = 0.25
#: Under Celery's defaults a publish to a hung broker never returns (the TCP connect succeeds);
#: the workload bounds it so that every loop here ends. The refusal is journaled as uncertain.
PUBLISH_SOCKET_TIMEOUT = 5.0
#: The spec as text, for ``python -m chaos.workload -`` (chaos.stack.docker.producer sets it).
ENV_WORKLOAD_SPEC = "CHAOS_WORKLOAD_SPEC"


def publish_options(options: dict[str, Any]) -> dict[str, Any]:
    """A stream's options as ``apply_async`` takes them: its ``eta`` counts from this send."""
    resolved = dict(options)
    if resolved.get("eta") is not None:
        from datetime import datetime, timedelta, timezone

        resolved["eta"] = datetime.now(timezone.utc) + timedelta(seconds=float(resolved["eta"]))
    return resolved


@dataclass
class PublishRecord:
    """The publish in progress in this thread, seen from Celery's signals."""

    path: str
    task_id: str | None = None
    task: str | None = None
    key: str | None = None
    accepted: bool = False
    began: float = 0.0


@dataclass
class WorkloadSpec:
    streams: list[dict[str, Any]]
    deadline: float
    app: str
    publish_timeout: float = 2.0
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> WorkloadSpec:
        return cls.from_text(path.read_text())

    @classmethod
    def from_text(cls, text: str) -> WorkloadSpec:
        return cls(**json.loads(text))


class Workload:
    def __init__(self, spec: WorkloadSpec, run_dir: Path) -> None:
        self.spec = spec
        self.journal = JournalWriter.for_run_dir(run_dir, f"producer@{socket.gethostname()}")
        self.current = threading.local()
        self.stop = threading.Event()
        self.client: Any = None
        self.http: Any = None
        self.producer: Any = None
        self.overrides: dict[str, Any] = {}
        self.app: Any = None

    # --- set-up --------------------------------------------------------------------------

    def set_up(self) -> None:
        """Import the app and set Django up: the slow part, done while the stack starts."""
        from celery.app.utils import find_app

        sys.path.insert(0, os.getcwd())
        self.app = find_app(self.spec.app)
        overrides = json.loads(os.environ.get("CHAOS_CELERY_SETTINGS") or "{}")
        self.overrides = dict(overrides)
        options = dict(overrides.get("broker_transport_options") or {})
        options.setdefault("socket_timeout", PUBLISH_SOCKET_TIMEOUT)
        options.setdefault("client_name", PRODUCER_CLIENT_NAME)  # broker.disconnect_clients
        overrides["broker_transport_options"] = options
        update_conf(self.app, overrides)
        if os.environ.get("DJANGO_SETTINGS_MODULE"):
            import django

            django.setup()  # a Django app's tasks and result backend need it even without views
        paths = {stream["path"] for stream in self.spec.streams}
        if paths & set(VIEW_URLS):
            from django.test import Client

            # The seed's view raises when the broker refuses; the client re-raises it here.
            self.client = Client(raise_request_exception=True)
            # Pay the first request's costs (URLconf, middleware, view imports) before the
            # run's clock starts. The views take POST only: a GET is a 405 with no side effect.
            for path in paths & set(VIEW_URLS):
                if self.client.get(VIEW_URLS[path]).status_code == 404:
                    raise SystemExit(
                        f"chaos workload: the app has no view at {VIEW_URLS[path]}: path: {path} "
                        "drives the reference app's order views; use path: task for another app"
                    )
        if "http" in paths:
            from chaos.http_workload import HttpSender

            self.http = HttpSender()
        # Also before the clock: the app's task modules and the redis transport, which the
        # first publish would otherwise import. (Not the producer pool: it would keep the
        # broker URL of the app's settings, and the stack's is only known later.)
        import kombu.transport.redis  # noqa: F401

        import chaos.producer  # noqa: F401

        self.app.loader.import_default_modules()
        self.app.finalize(auto=True)

    def connect(self, broker_url: str) -> None:
        """Point the app at the stack's broker (through the proxy) and warm its connections."""
        update_conf(self.app, {"broker_url": broker_url})
        stack_result_backend(self.app, broker_url, self.overrides)
        if self.client is not None or self.http is not None:
            from django.db import connection

            connection.ensure_connection()  # the run's database exists once the stack started
        if any(stream["path"] == "task" for stream in self.spec.streams):
            from chaos.producer import Producer

            self.producer = Producer(
                self.app, broker_url, self.journal, timeout=self.spec.publish_timeout,
            )  # fmt: skip
        with self.app.producer_or_acquire() as producer:
            producer.connection.ensure_connection(max_retries=1)
        from celery.signals import after_task_publish, before_task_publish

        before_task_publish.connect(self._before_publish, weak=False)
        after_task_publish.connect(self._after_publish, weak=False)

    # --- journaling from Celery's publish signals --------------------------------------------

    def _record(self) -> PublishRecord | None:
        return getattr(self.current, "record", None)

    def _before_publish(self, sender: str | None = None, headers: Any = None, body: Any = None,
                        **_: Any) -> None:  # fmt: skip
        record = self._record()
        if record is None:
            return
        headers = headers or {}
        record.task_id = headers.get("id")
        record.task = sender or headers.get("task")
        args = body[0] if isinstance(body, (list, tuple)) and body else []
        record.key = f"order={args[0]}" if args else None
        record.began = time.monotonic()
        record.accepted = False
        self.journal.write("enqueue.tried", task_id=record.task_id, task=record.task,
                           path=record.path, key=record.key)  # fmt: skip

    def _after_publish(self, sender: str | None = None, headers: Any = None, **_: Any) -> None:
        record = self._record()
        if record is None:
            return
        record.accepted = True
        self.journal.write("enqueue.accepted", task_id=record.task_id, task=record.task,
                           path=record.path, key=record.key,
                           seconds=time.monotonic() - record.began)  # fmt: skip

    def _refused(self, record: PublishRecord, exc_type: str, exc_message: str) -> None:
        if record.task_id is None or record.accepted:
            return
        self.journal.write(
            "enqueue.refused", task_id=record.task_id, task=record.task, path=record.path,
            key=record.key, exc_type=exc_type, exc_message=exc_message[:500],
            seconds=time.monotonic() - record.began, uncertain="imeout" in exc_message,
        )  # fmt: skip
        record.task_id = None

    # --- sending -------------------------------------------------------------------------

    def send(self, stream: dict[str, Any], number: int) -> None:
        path = stream["path"]
        if path == "task":
            self.producer.send(
                stream["task"], render(stream["args"], number + 1),
                render(stream["kwargs"], number + 1),
                key=f"{stream['task'].rsplit('.', 1)[-1]}#{stream['index']}.{number}",
                **publish_options(stream.get("options") or {}),
            )  # fmt: skip
            return
        if path == "http":
            self.send_http(stream, number)
            return
        record = PublishRecord(path)
        self.current.record = record
        try:
            response = self.client.post(VIEW_URLS[path], {"item": f"stream{stream['index']}"})
            if response.status_code >= 400:
                self._refused(record, "http.HTTPStatus", f"HTTP {response.status_code}")
            elif path == "naive" and record.began == 0:
                self._sent_nothing(stream, number, response.status_code)
        # The seed's view lets the broker's error escape (that is the point): any type it raises
        # is the refusal the journal records.
        except Exception as exc:  # noqa: BLE001
            self._refused(record, qualified_name(exc), str(exc))
        finally:
            if path == "durable":
                self._journal_outbox_saved(record)
            self.current.record = None

    def _sent_nothing(self, stream: dict[str, Any], number: int, status: int) -> None:
        """The naive view answered without publishing: the order's task was never sent. Not a
        refusal (the broker said nothing) and not an incomplete journal: the app's own doing,
        which the runner's ``workload`` verdict reports."""
        from chaos.http_workload import UNEXPECTED_KIND

        self.journal.write(UNEXPECTED_KIND, stream=stream["index"], number=number + 1,
                           method="POST", url=VIEW_URLS["naive"], host="testserver",
                           status=status, detail="the view answered and sent no task",
                           expected="a publish of the order's task")  # fmt: skip

    def send_http(self, stream: dict[str, Any], number: int) -> None:
        """One request of a ``path: http`` stream; an unexpected answer is journaled. A view that
        raised or answered while its publish was refused is a refusal (the broker's doing)."""
        from chaos.http_workload import UNEXPECTED_KIND, expected

        request = stream["http"]
        record = PublishRecord("http")
        self.current.record = record
        status: int | None = None
        detail = ""
        try:
            status = self.http.send(request, number + 1)
        except Exception as exc:  # noqa: BLE001 - whatever the view raised is what it answered
            detail = f"{qualified_name(exc)}: {str(exc)[:300]}"
            self._refused(record, qualified_name(exc), str(exc))
        finally:
            self.current.record = None
        if record.began > 0 and not record.accepted:
            # The view's publish was refused: the broker's doing, which the checks judge.
            self._refused(record, "http.HTTPStatus", f"HTTP {status}")
            return
        if status is not None and expected(status, request["expect_status"]):
            return
        self.journal.write(UNEXPECTED_KIND, stream=stream["index"], number=number + 1,
                           method=request["method"], url=request["url"],
                           host=self.http.host_for(request),
                           status=status if status is not None else "exception",
                           detail=detail, expected=request["expect_status"] or "2xx")  # fmt: skip

    def _journal_outbox_saved(self, record: PublishRecord) -> None:
        """The durable view committed the order and its pending task. Its publish after the
        commit was journaled by the signals; a refusal is caught by the relay, so say it here."""
        task_id = record.task_id
        if task_id is None:
            return
        if not record.accepted:
            from shop.models import OutboxMessage

            row = OutboxMessage.objects.filter(task_id=task_id).first()
            error = row.last_error if row is not None and row.last_error else "publish refused"
            self._refused(record, "kombu.exceptions.OperationalError", error)
        self.journal.write("outbox.saved", task_id=task_id, task=record.task, key=record.key)
        if record.accepted:
            self.journal.write("outbox.relayed", task_id=task_id, task=record.task, key=record.key)

    def relay(self, deadline: float) -> None:
        """Publish what the outbox still holds until it is empty or the deadline passes."""
        from shop.models import OutboxMessage
        from shop.outbox import relay_pending

        while not self.stop.is_set() and time.monotonic() < deadline:
            pending = OutboxMessage.objects.filter(sent_at__isnull=True).count()
            if pending == 0:
                return
            record = PublishRecord("durable")
            self.current.record = record
            report = relay_pending()
            for task_id, error in report.failed.items():
                record.task_id = task_id
                self._refused(record, "kombu.exceptions.OperationalError", error)
            for task_id in report.sent:
                self.journal.write("outbox.relayed", task_id=task_id)
            self.current.record = None
            if report.failed:
                self.stop.wait(RELAY_INTERVAL)

    def run(self, t0: float) -> None:
        schedule = sorted(
            (t0 + stream["start"] + number * stream["interval"], stream["index"], number)
            for stream in self.spec.streams
            for number in range(stream["count"])
        )
        streams = {stream["index"]: stream for stream in self.spec.streams}
        deadline = t0 + self.spec.deadline
        for due, index, number in schedule:
            if self.stop.wait(max(0.0, due - time.monotonic())) or time.monotonic() > deadline:
                break
            self.send(streams[index], number)
        print("sent", flush=True)
        if any(stream["path"] == "durable" for stream in self.spec.streams):
            self.relay(deadline)
            print("relayed", flush=True)


def main(argv: list[str] | None = None) -> int:
    from chaos.stack.launch import write_settings_wrapper

    args = sys.argv[1:] if argv is None else argv
    # "-": the spec is in $CHAOS_WORKLOAD_SPEC (a producer container has no file of the runner).
    spec = (WorkloadSpec.from_text(os.environ[ENV_WORKLOAD_SPEC]) if args[0] == "-"
            else WorkloadSpec.read(Path(args[0])))  # fmt: skip
    write_settings_wrapper()  # in a container, the suite's settings wrapper comes as text
    run_dir = Path(os.environ[ENV_RUN_DIR])
    workload = Workload(spec, run_dir)
    signal.signal(signal.SIGTERM, lambda *_: workload.stop.set())
    began = time.monotonic()
    workload.set_up()
    print(f"chaos workload: set up in {time.monotonic() - began:.3f} s", file=sys.stderr)
    print("ready", flush=True)
    broker = sys.stdin.readline().split()
    if len(broker) != 2 or broker[0] != "broker":
        return 0  # the stack did not start: nothing to send
    began = time.monotonic()
    workload.connect(broker[1])
    print(f"chaos workload: connected in {time.monotonic() - began:.3f} s", file=sys.stderr)
    print("warm", flush=True)
    go = sys.stdin.readline().split()
    if len(go) != 2 or go[0] != "go":
        return 0  # the runner gave up before the start: nothing to send
    workload.run(float(go[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
