"""A request body read and decoded within bounds, every refusal an ``ApiError`` in Toxiproxy's shape.

Toxiproxy (Go) refuses what Python's ``json`` would accept or crash on: nesting deeper than its
decoder's limit, ``NaN``/``Infinity`` (not JSON), numbers no Go type holds. Python raises
``RecursionError`` on deep nesting and ``ValueError`` on a 5000-digit integer, which reached the
client as 500s; a body over the size limit got aiohttp's plain-text 413, which Toxiproxy's clients
cannot decode. Here each is a 400 or 413 with ``{"error":..,"status":..}``.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

from aiohttp import web

from chaos.proxy.model import ApiError, bad_body

#: Largest request body the API reads. Real bodies are a few hundred bytes; a populate of
#: thousands of proxies stays far below.
MAX_BODY_BYTES = 4 * 1024 * 1024

#: Deepest nesting of a request body. Go's decoder allows 10,000; Python's parser recurses and
#: gives up near 1,000. The API's bodies nest 3 deep (populate: array, proxy, nothing deeper;
#: toxic: object, attributes, commands).
MAX_DEPTH = 100

#: A JSON string, or an unterminated one up to the end: every match attempt succeeds from where
#: it starts, so the scan stays linear (a pattern that can fail would retry at each later quote).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")
#: +1 for an opening bracket, -1 for a closing one, by byte value.
_STEP = [1 if byte in b"[{" else -1 for byte in range(256)]


def nesting_depth(raw: bytes) -> int:
    """How deep ``raw``'s arrays and objects nest, brackets inside strings not counted."""
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    if len(brackets) <= 1:
        return len(brackets)
    return max(accumulate(map(_STEP.__getitem__, brackets)))


def _refuse_constant(name: str) -> Any:
    raise bad_body(f"invalid character {name[0]!r} looking for beginning of value ({name} is not JSON)")


def decode(raw: bytes) -> Any:
    """The JSON value of a request body; a 400 ``bad request body: ...`` when it is not one the
    API can take."""
    if not raw.strip():
        raise bad_body("EOF")
    depth = nesting_depth(raw)
    if depth > MAX_DEPTH:
        raise bad_body(f"exceeded max depth: {depth} levels of nesting, at most {MAX_DEPTH}")
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except UnicodeDecodeError as exc:
        raise bad_body(f"invalid JSON: {exc}") from None
    except ValueError as exc:  # JSONDecodeError, and int()'s limit on digits
        raise bad_body(f"invalid JSON: {exc}") from None
    except RecursionError:
        raise bad_body(f"exceeded max depth: at most {MAX_DEPTH} levels of nesting") from None


def too_large(limit: int) -> ApiError:
    return ApiError(413, f"request body too large: more than {limit} bytes")


async def read(request: web.Request) -> bytes:
    """The raw body; a 413 in Toxiproxy's shape past the application's ``client_max_size``."""
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise too_large(request.client_max_size) from None


async def json_body(request: web.Request) -> Any:
    return decode(await read(request))
