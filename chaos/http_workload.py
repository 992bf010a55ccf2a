"""``path: http``: a scenario's requests to any view of the app, through Django's test client.

The workload process sends them in the app's own settings, as a browser or an API client would:
method, URL path, a JSON or form body, headers, and the Host the app allows (``host:``, else the
first of ``ALLOWED_HOSTS``: Django answers 400 for a host it does not allow, a classic false green
when nobody looks at the status). ``{n}`` in the URL, body and headers is the send's number in its
stream (1, 2, ...), as ``chaos.item_templates`` fills it for every path.

A status outside ``expect_status`` (any 2xx by default) is journaled as ``workload.unexpected``;
the runner (``chaos.runner.workload_verdict``) turns those into a failed ``workload`` verdict, so a run whose requests
were refused by the app never passes as "all 0 accepted tasks executed".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from chaos.item_templates import render

UNEXPECTED_KIND = "workload.unexpected"


def expected(status: int, expect_status: Iterable[int] | None) -> bool:
    return 200 <= status < 300 if expect_status is None else status in set(expect_status)


def default_host() -> str:
    """The first host the app's ``ALLOWED_HOSTS`` names literally (``.x.org`` gives ``x.org``)."""
    from django.conf import settings

    for host in getattr(settings, "ALLOWED_HOSTS", []) or []:
        host = str(host).lstrip(".")
        if host and host != "*":
            return host
    return "testserver"


class HttpSender:
    """One Django test client for the process; ``send`` makes one request of a stream."""

    def __init__(self) -> None:
        from django.test import Client

        # Exceptions escape to the workload (a broker error from .delay() is a refused publish).
        self.client = Client(raise_request_exception=True)
        self._host = default_host()

    def host_for(self, request: Mapping[str, Any]) -> str:
        return str(request.get("host") or self._host)

    def send(self, request: Mapping[str, Any], number: int) -> int:
        """The status of the ``number``-th request; exceptions of the view propagate."""
        import json

        url = render(request["url"], number)
        headers = {str(k): str(v) for k, v in render(request.get("headers") or {}, number).items()}
        # As WSGI environ keys: Client(headers=...) is Django 4.2+ only.
        options: dict[str, Any] = {"HTTP_" + k.upper().replace("-", "_"): v
                                   for k, v in headers.items()}  # fmt: skip
        options["HTTP_HOST"] = self.host_for(request)
        method = str(request.get("method") or "POST").lower()
        call = getattr(self.client, method)
        if request.get("json") is not None:
            body = json.dumps(render(request["json"], number))
            response = call(url, data=body, content_type="application/json", **options)
        elif request.get("form") is not None:
            data = render(request["form"], number)
            if method in ("get", "delete"):
                response = call(url, data=data, **options)
            else:
                from urllib.parse import urlencode

                response = call(url, data=urlencode(data, doseq=True),
                                content_type="application/x-www-form-urlencoded", **options)  # fmt: skip
        else:
            response = call(url, **options)
        return int(response.status_code)
