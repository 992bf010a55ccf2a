"""What the API stores: toxic types with their attribute schemas, a toxic's settings, API errors.

Kept free of sockets and the event loop so that validation can be unit-tested on its own and
the JSON shapes live in one place (Toxiproxy 2.12's, see ``reference/toxiproxy-api.md``).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

#: The version the API reports: Toxiproxy's, because clients only know its behaviour.
TOXIPROXY_VERSION = "2.12.0"

STREAMS = ("upstream", "downstream")

#: Redis's own error replies, by the short names ``redis_error``'s ``error`` attribute accepts.
REDIS_ERROR_REPLIES = {
    "OOM": "OOM command not allowed when used memory > 'maxmemory'.",
    "LOADING": "LOADING Redis is loading the dataset in memory",
    "READONLY": "READONLY You can't write against a read only replica.",
    "BUSY": (
        "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSCRIPT."
    ),
    "MASTERDOWN": (
        "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
    ),
    "TRYAGAIN": "TRYAGAIN Multiple keys request during rehashing of slot",
}


class ApiError(Exception):
    """A request the API refuses: Toxiproxy's status code and its ``"<base>: <detail>"`` text."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def bad_body(detail: str) -> ApiError:
    return ApiError(400, f"bad request body: {detail}")


#: Attribute name -> default, per toxic type. Integers unless the default says otherwise.
TOXIC_ATTRIBUTES: dict[str, dict[str, Any]] = {
    "latency": {"latency": 0, "jitter": 0},
    "bandwidth": {"rate": 0},
    "slow_close": {"delay": 0},
    "timeout": {"timeout": 0},
    "reset_peer": {"timeout": 0},
    "slicer": {"average_size": 0, "size_variation": 0, "delay": 0},
    "limit_data": {"bytes": 0},
    "noop": {},
    # Extension: answers matching Redis commands with an error reply instead of forwarding them.
    "redis_error": {"error": "OOM", "commands": [], "count": 0},
}

#: Where a type's stream defaults to when the request leaves it out.
DEFAULT_STREAM = {"redis_error": "upstream"}


#: Toxiproxy's integer attributes are Go int64s, toxicity a float32: a larger number is a 400
#: there (the decoder cannot hold it), so it is here rather than a latency of 1e300 ms.
INT64_MAX = 2**63 - 1
FLOAT32_MAX = 3.4028234663852886e38


def _check_int(type_name: str, key: str, value: Any) -> int:
    given = value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad_body(
            f"attribute {key!r} of {type_name} must be a non-negative integer, "
            f"got {json.dumps(value)}"
        )
    if isinstance(value, float):
        if not value.is_integer():
            raise bad_body(
                f"attribute {key!r} of {type_name} must be a non-negative integer, got {value}"
            )
        value = int(value)
    if value < 0:
        raise bad_body(
            f"attribute {key!r} of {type_name} must be a non-negative integer, got {value}"
        )
    if value > INT64_MAX:
        raise bad_body(
            f"attribute {key!r} of {type_name} must be at most {INT64_MAX} (Go's int64), "
            f"got {json.dumps(given)}"
        )
    return value


def _check_commands(value: Any) -> list[str]:
    if isinstance(value, str):
        names = [part for part in value.replace(",", " ").split() if part]
    elif isinstance(value, list) and all(isinstance(part, str) for part in value):
        names = list(value)
    else:
        raise bad_body(
            "attribute 'commands' of redis_error must be a list of command names or a "
            f"comma-separated string, got {json.dumps(value)}"
        )
    return [name.upper() for name in names]


def _check_error(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or "\r" in value or "\n" in value:
        raise bad_body(
            "attribute 'error' of redis_error must be one line of text such as OOM, LOADING, "
            f"READONLY, BUSY or a full reply like 'ERR custom', got {json.dumps(value)}"
        )
    return value.strip()


def parse_attributes(
    type_name: str, given: Any, current: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Validate ``given`` for ``type_name`` and merge it into ``current`` (or the defaults).

    Unknown keys are ignored, as Toxiproxy does; a wrong type or a negative number is a 400 that
    names the attribute.
    """
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise bad_body(f"'attributes' must be an object, got {json.dumps(given)}")
    schema = TOXIC_ATTRIBUTES[type_name]
    merged = dict(schema if current is None else current)
    for key, value in given.items():
        if key not in schema:
            continue
        if key == "commands":
            merged[key] = _check_commands(value)
        elif key == "error":
            merged[key] = _check_error(value)
        else:
            merged[key] = _check_int(type_name, key, value)
    return merged


def parse_toxicity(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad_body(f"'toxicity' must be a number, got {json.dumps(value)}")
    if abs(value) > FLOAT32_MAX:
        raise bad_body(
            f"'toxicity' must be at most {FLOAT32_MAX:g} in size (Go's float32), got {value}"
        )
    return float(value)


def redis_error_reply(error: str) -> bytes:
    """The RESP error line for ``error``: a short name expands to Redis's own message."""
    text = REDIS_ERROR_REPLIES.get(error.upper(), error)
    return b"-" + text.encode() + b"\r\n"


_toxic_order = itertools.count()


@dataclass(eq=False)
class Toxic:
    """A toxic's settings as the API shows them. Updates mutate it; live links read it."""

    name: str
    type: str
    stream: str
    toxicity: float
    attributes: dict[str, Any]
    order: int = field(default_factory=lambda: next(_toxic_order))
    fired: int = 0
    """redis_error only: how many commands it has answered (shared by every connection)."""

    @property
    def direction(self) -> str:
        return self.stream.lower()

    def to_json(self) -> dict[str, Any]:
        toxicity: float | int = self.toxicity
        if float(toxicity).is_integer():
            toxicity = int(toxicity)
        return {
            "attributes": dict(self.attributes),
            "name": self.name,
            "type": self.type,
            "stream": self.stream,
            "toxicity": toxicity,
        }


def new_toxic(body: Any, taken_names: set[str]) -> Toxic:
    """Build a toxic from a create request, with Toxiproxy's checks in Toxiproxy's order."""
    if not isinstance(body, dict):
        raise bad_body(f"expected a JSON object, got {json.dumps(body)[:80]}")
    type_name = body.get("type")
    stream = body.get("stream")
    if stream is None or stream == "":
        stream = (
            DEFAULT_STREAM.get(type_name, "downstream")
            if isinstance(type_name, str)
            else ("downstream")
        )
    if not isinstance(stream, str) or stream.lower() not in STREAMS:
        raise ApiError(
            400,
            f"stream was invalid, can be either upstream or downstream: got {json.dumps(stream)}",
        )
    name = body.get("name")
    if name is None or name == "":
        name = f"{type_name if isinstance(type_name, str) else ''}_{stream}"
    if not isinstance(name, str):
        raise bad_body(f"'name' must be a string, got {json.dumps(name)}")
    if not isinstance(type_name, str) or type_name not in TOXIC_ATTRIBUTES:
        known = ", ".join(TOXIC_ATTRIBUTES)
        raise ApiError(
            400,
            f"invalid toxic type: {json.dumps(type_name)} (field 'type', expected one of {known})",
        )
    if name in taken_names:
        raise ApiError(409, f"toxic already exists: {name}")
    if type_name == "redis_error" and stream.lower() != "upstream":
        raise ApiError(
            400,
            "stream was invalid, can be either upstream or downstream: redis_error answers the "
            "commands a client sends, so its stream must be upstream",
        )
    toxicity = parse_toxicity(body["toxicity"]) if body.get("toxicity") is not None else 1.0
    attributes = parse_attributes(type_name, body.get("attributes"))
    return Toxic(name=name, type=type_name, stream=stream, toxicity=toxicity, attributes=attributes)


def update_toxic(toxic: Toxic, body: Any) -> None:
    """Merge an update request into ``toxic`` (only attributes and toxicity change)."""
    if not isinstance(body, dict):
        raise bad_body(f"expected a JSON object, got {json.dumps(body)[:80]}")
    attributes = parse_attributes(toxic.type, body.get("attributes"), toxic.attributes)
    toxicity = toxic.toxicity
    if body.get("toxicity") is not None:
        toxicity = parse_toxicity(body["toxicity"])
    if toxic.type == "redis_error" and attributes.get("count") != toxic.attributes.get("count"):
        toxic.fired = 0
    toxic.attributes = attributes
    toxic.toxicity = toxicity
