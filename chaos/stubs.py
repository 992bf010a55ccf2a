"""A real HTTP service on 127.0.0.1 that fails by plan: the outside endpoint a task calls.

Tasks that call a carrier or a mail service fail when that service fails; a scenario needs the
failure to be exact ("the carrier fails the first 2 calls") and observable (each hit recorded).
This serves on a real socket with the standard library's threaded HTTP server, so the task under
test makes a real request and gets a real status code or a refused connection.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Hit:
    """One request the stub answered."""

    path: str
    body: bytes
    status: int
    wall: float
    key: str | None = None


FailPlan = int | None
"""How many requests fail before the stub succeeds; None fails every request."""


class StubEndpoint:
    """Answers ``fail_status`` to the first ``fail_first`` requests (every request when
    ``fail_first`` is None), then 200 with ``{"ok": true}``.

    With ``key_field`` set, requests are counted per value of that field of the JSON body and
    ``fail_first`` may map a value to its own plan (``{"17": None, "18": 2}``: order 17 always
    fails, order 18 fails twice); values not in the map succeed. Use as a context manager;
    ``url`` is where tasks should POST.
    """

    def __init__(
        self,
        *,
        fail_first: FailPlan | Mapping[str, FailPlan] = 0,
        key_field: str | None = None,
        fail_status: int = 503,
        path: str = "/",
        host: str = "127.0.0.1",
    ) -> None:
        self.fail_first = fail_first
        self.key_field = key_field
        self.fail_status = fail_status
        self.path = path
        self._hits: list[Hit] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._server = ThreadingHTTPServer((host, 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status = stub._answer(self.path, body)
                payload = json.dumps({"ok": status == 200}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                return  # the hits are recorded; stderr noise helps nobody

        return Handler

    def key_of(self, body: bytes) -> str | None:
        if self.key_field is None:
            return None
        try:
            value = json.loads(body or b"{}").get(self.key_field)
        except (ValueError, AttributeError):
            return None
        return None if value is None else str(value)

    def _plan_for(self, key: str | None) -> FailPlan:
        if isinstance(self.fail_first, Mapping):
            return self.fail_first.get(key, 0) if key is not None else 0
        return self.fail_first

    def _answer(self, path: str, body: bytes) -> int:
        key = self.key_of(body)
        with self._changed:
            plan = self._plan_for(key)
            earlier = sum(1 for hit in self._hits if hit.key == key)
            failing = plan is None or earlier < plan
            status = self.fail_status if failing else 200
            self._hits.append(Hit(path, body, status, time.time(), key))
            self._changed.notify_all()
        return status

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{self.path}"

    def hits(self, key: str | None = None) -> list[Hit]:
        """The requests answered so far (only those for ``key`` when given)."""
        with self._lock:
            return [hit for hit in self._hits if key is None or hit.key == key]

    def wait_for_hits(self, count: int, timeout: float, key: str | None = None) -> list[Hit]:
        """Block until ``count`` requests (for ``key``) arrived; TimeoutError otherwise."""
        with self._changed:
            matching = lambda: [h for h in self._hits if key is None or h.key == key]  # noqa: E731
            if not self._changed.wait_for(lambda: len(matching()) >= count, timeout):
                raise TimeoutError(
                    f"stub endpoint {self.url}: {len(matching())} of {count} requests"
                    f"{f' for {key}' if key else ''} after {timeout} s"
                )
            return matching()

    def start(self) -> StubEndpoint:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            args=(0.05,),
            name=f"stub-endpoint-{self.url}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> StubEndpoint:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
