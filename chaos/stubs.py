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
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Hit:
    """One request the stub answered."""

    path: str
    body: bytes
    status: int
    wall: float


class StubEndpoint:
    """Answers ``fail_status`` to the first ``fail_first`` requests (every request when
    ``fail_first`` is None), then 200 with ``{"ok": true}``.

    Use as a context manager; ``url`` is where tasks should POST.
    """

    def __init__(
        self,
        *,
        fail_first: int | None = 0,
        fail_status: int = 503,
        path: str = "/",
        host: str = "127.0.0.1",
    ) -> None:
        self.fail_first = fail_first
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

    def _answer(self, path: str, body: bytes) -> int:
        with self._changed:
            failing = self.fail_first is None or len(self._hits) < self.fail_first
            status = self.fail_status if failing else 200
            self._hits.append(Hit(path, body, status, time.time()))
            self._changed.notify_all()
        return status

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{self.path}"

    @property
    def hits(self) -> list[Hit]:
        with self._lock:
            return list(self._hits)

    def wait_for_hits(self, count: int, timeout: float) -> list[Hit]:
        """Block until ``count`` requests arrived; TimeoutError naming both numbers otherwise."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._hits) >= count, timeout):
                raise TimeoutError(
                    f"stub endpoint {self.url}: {len(self._hits)} of {count} requests "
                    f"after {timeout} s"
                )
            return list(self._hits)

    def start(self) -> StubEndpoint:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"stub-endpoint-{self.url}", daemon=True
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
