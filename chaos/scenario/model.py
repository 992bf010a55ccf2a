"""The scenario as validated data: one pydantic model per part of the file.

A scenario is what a team reads in review: the app, the topology, the workload, a fault timeline
and the expectations. Field-level rules live here; rules that need the whole file (an ``after:``
naming a fault that exists, a worker that the topology has, faults that contradict each other)
live in ``chaos.scenario.semantics``.
"""

from __future__ import annotations

import re
import warnings
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    Tag,
    field_validator,
    model_validator,
)

from chaos.scenario.durations import parse_duration

Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    PlainSerializer(lambda seconds: f"{seconds:g}s", when_used="json"),
]
"""Seconds, written with a unit in the file (``2s``, ``500ms``)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class RandomRange(_Strict):
    """``{between: [1s, 3s]}``: a time drawn from the run's seed when the timeline is resolved."""

    between: tuple[Duration, Duration]

    @field_validator("between")
    @classmethod
    def _ordered(cls, value: tuple[float, float]) -> tuple[float, float]:
        if value[0] > value[1]:
            raise ValueError("the first bound must not be after the second")
        return value


def _time_kind(value: Any) -> str:
    return "kind:random_range" if isinstance(value, dict) else "kind:duration"


TimeSpec = Annotated[
    Annotated[Duration, Tag("kind:duration")] | Annotated[RandomRange, Tag("kind:random_range")],
    Discriminator(_time_kind),
]
"""A fixed time (``2s``) or a seeded random one (``{between: [1s, 3s]}``)."""

#: Events a fault can start ``after:`` besides another fault's ``<id>.applied`` / ``<id>.healed``.
RUN_EVENTS: tuple[str, ...] = (
    "run_started",
    "first_enqueue_accepted",
    "first_task_started",
    "first_task_succeeded",
    "workload_done",
)
#: Conditions a fault can last ``until:``.
UNTIL_CONDITIONS: tuple[str, ...] = (
    "queue_empty",
    "workload_done",
    "all_tasks_done",
    "first_task_started",
    "first_task_succeeded",
)

_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


_AFTER = re.compile(r"^\s*(?P<event>[A-Za-z0-9_.-]+?)\s*(?:\+\s*(?P<offset>.+?))?\s*$")


def parse_after(value: str) -> tuple[str, float]:
    """Split ``"first_task_started + 1s"`` into the event and its offset in seconds."""
    match = _AFTER.match(value)
    if match is None:
        raise ValueError("write an event, optionally plus a time: first_task_started + 1s")
    offset = parse_duration(match["offset"]) if match["offset"] else 0.0
    return match["event"], offset


class _Timed(_Strict):
    """When a fault starts and how it ends, in an incident report's words."""

    id: str | None = Field(None, description="name other faults' after: can refer to")
    at: TimeSpec | None = Field(None, description="start, from the run's start: 2s")
    after: str | None = Field(
        None, description="start on an event, optionally plus a time: first_task_started + 1s"
    )
    for_: Duration | None = Field(None, alias="for", description="heal this long after applying")
    until: str | None = Field(None, description="heal when this condition holds: queue_empty")
    deadline: Duration = Field(60.0, description="heal an until: fault after this at the latest")

    @field_validator("after")
    @classmethod
    def _after_shape(cls, value: str | None) -> str | None:
        if value is not None:
            parse_after(value)
        return value

    @property
    def after_event(self) -> tuple[str, float] | None:
        """``("first_task_started", 1.0)`` for ``after: first_task_started + 1s``."""
        return parse_after(self.after) if self.after is not None else None

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str | None) -> str | None:
        if value is not None and not _ID.match(value):
            raise ValueError("an id is lower-case letters, digits, '-', '_' or '.'")
        return value

    @model_validator(mode="after")
    def _one_start_one_end(self) -> _Timed:
        if self.at is not None and self.after is not None:
            raise ValueError("give either at: or after:, not both")
        if self.at is None and self.after is None:
            raise ValueError(
                "give at: (a time such as 2s) or after: (an event such as first_task_started)"
            )
        if self.for_ is not None and self.until is not None:
            raise ValueError("give either for: or until:, not both")
        return self

    @property
    def instantaneous(self) -> bool:
        return False


class BrokerFault(_Timed):
    """The Redis server itself: SIGKILL, SIGTERM or SIGSTOP; healed by starting or resuming it."""

    type: Literal["broker.kill", "broker.stop", "broker.pause"]


class BrokerRestart(_Timed):
    """Stop then start Redis at once (an instant fault: no for:/until:)."""

    type: Literal["broker.restart"]

    @model_validator(mode="after")
    def _no_duration(self) -> BrokerRestart:
        if self.for_ is not None or self.until is not None:
            raise ValueError(
                "broker.restart is instantaneous; use broker.kill or broker.stop with for:"
            )
        return self

    @property
    def instantaneous(self) -> bool:
        return True


class ProxyDown(_Timed):
    """The proxy refuses connections and closes live ones (Toxiproxy's enabled=false)."""

    type: Literal["proxy.down"]


TOXIC_ATTRIBUTES: dict[str, dict[str, type]] = {
    "latency": {"latency": int, "jitter": int},
    "bandwidth": {"rate": int},
    "slow_close": {"delay": int},
    "timeout": {"timeout": int},
    "reset_peer": {"timeout": int},
    "slicer": {"average_size": int, "size_variation": int, "delay": int},
    "limit_data": {"bytes": int},
    "redis_error": {"error": str, "commands": list, "count": int},
}
"""Toxiproxy's toxic types and attributes, plus the project's ``redis_error`` extension."""


class ProxyToxic(_Timed):
    """A Toxiproxy toxic on the broker's proxy, removed when healed."""

    type: Literal["proxy.toxic"]
    toxic: str
    stream: Literal["upstream", "downstream"] | None = Field(
        None, description="Toxiproxy's default: downstream (upstream for redis_error)"
    )
    toxicity: float = Field(1.0, ge=0.0, le=1.0)
    attributes: dict[str, Any] = Field(default_factory=dict)


class WorkerFault(_Timed):
    """One worker (by name, ``any`` drawn from the seed, or ``all``): kill or warm shutdown."""

    type: Literal["worker.kill", "worker.terminate", "worker.restart"]
    worker: str = "any"
    grace: Duration = Field(10.0, description="worker.terminate: SIGKILL after this")

    @model_validator(mode="after")
    def _restart_is_instant(self) -> WorkerFault:
        if self.type == "worker.restart" and (self.for_ is not None or self.until is not None):
            raise ValueError("worker.restart is instantaneous; use worker.kill with for:")
        return self

    @property
    def instantaneous(self) -> bool:
        return self.type == "worker.restart"


class WorkerScale(_Timed):
    """Run ``count`` workers; healed by scaling back to the topology's count."""

    type: Literal["worker.scale"]
    count: int = Field(ge=0, le=8)


class HitRange(_Strict):
    """Hits ``from`` to ``to`` (1-based, inclusive); ``to`` absent means every hit from ``from``."""

    from_: int = Field(1, alias="from", ge=1)
    to: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> HitRange:
        if self.to is not None and self.to < self.from_:
            raise ValueError("to: must not be before from:")
        return self


class FailpointFault(_Timed):
    """Arm a failpoint (by name in the code, or by patching ``module:function``) with a plan."""

    type: Literal["failpoint"]
    name: str | None = Field(None, description="the name passed to failpoint() in the code")
    patch: str | None = Field(None, description="module:function to wrap, for code you cannot edit")
    raise_: str | None = Field(None, alias="raise", description="exception class by import path")
    message: str = "injected by chaos failpoint"
    delay: Duration | None = Field(None, description="sleep this long on each hit it fires")
    hits: HitRange | None = None
    probability: float | None = Field(None, ge=0.0, le=1.0)

    @field_validator("patch")
    @classmethod
    def _patch_shape(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[\w.]+:[\w.]+$", value):
            raise ValueError("write the target as module:function, e.g. shop.carrier:post")
        return value

    @field_validator("raise_")
    @classmethod
    def _raise_shape(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[A-Za-z_][\w]*(\.[A-Za-z_]\w*)+$", value):
            raise ValueError("name the exception by import path, e.g. builtins.ConnectionError")
        return value

    @model_validator(mode="after")
    def _one_target_one_action(self) -> FailpointFault:
        if (self.name is None) == (self.patch is None):
            raise ValueError("give exactly one of name: or patch:")
        if self.raise_ is None and self.delay is None:
            raise ValueError("give raise: (an exception) or delay: (a time), or both")
        if self.hits is not None and self.probability is not None:
            raise ValueError("give either hits: or probability:, not both")
        return self

    @property
    def failpoint_name(self) -> str:
        return self.name if self.name is not None else f"patch:{self.patch}"


FAULT_MODELS: dict[str, type[_Timed]] = {
    "broker.kill": BrokerFault,
    "broker.stop": BrokerFault,
    "broker.pause": BrokerFault,
    "broker.restart": BrokerRestart,
    "proxy.down": ProxyDown,
    "proxy.toxic": ProxyToxic,
    "worker.kill": WorkerFault,
    "worker.terminate": WorkerFault,
    "worker.restart": WorkerFault,
    "worker.scale": WorkerScale,
    "failpoint": FailpointFault,
}
FAULT_TYPES: tuple[str, ...] = tuple(FAULT_MODELS)


def _fault_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        kind = value.get("type")
    else:
        kind = getattr(value, "type", None)
    if kind in ("broker.kill", "broker.stop", "broker.pause"):
        return "kind:broker"
    if kind in ("worker.kill", "worker.terminate", "worker.restart"):
        return "kind:worker"
    return f"kind:{kind}" if kind in FAULT_MODELS else None


Fault = Annotated[
    Annotated[BrokerFault, Tag("kind:broker")]
    | Annotated[BrokerRestart, Tag("kind:broker.restart")]
    | Annotated[ProxyDown, Tag("kind:proxy.down")]
    | Annotated[ProxyToxic, Tag("kind:proxy.toxic")]
    | Annotated[WorkerFault, Tag("kind:worker")]
    | Annotated[WorkerScale, Tag("kind:worker.scale")]
    | Annotated[FailpointFault, Tag("kind:failpoint")],
    Discriminator(
        _fault_kind,
        custom_error_type="unknown_fault_type",
        custom_error_message="unknown fault type",
    ),
]


class AppSpec(_Strict):
    """The Celery app under test; the reference app (``app/``) by default."""

    name: str = Field("myproject", description="what celery -A takes")
    workdir: str | None = Field(None, description="directory the app lives in; app/ if absent")
    settings: str | None = Field("myproject.settings", description="DJANGO_SETTINGS_MODULE")


class Topology(_Strict):
    """Workers and broker settings the stack starts."""

    workers: int = Field(1, ge=1, le=8)
    pool: Literal["solo", "prefork", "threads"] = "solo"
    concurrency: int = Field(1, ge=1, le=16)
    prefetch_multiplier: int | None = Field(None, ge=0)
    persistence: Literal["none", "everysec", "always"] = "none"
    celery: dict[str, Any] = Field(default_factory=dict, description="Celery settings overrides")


_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(s|m|min)\s*$")


def _parse_rate(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError("write a rate with its unit, such as 5/s or 120/m")  # noqa: TRY004
    match = _RATE.match(value)
    if match is None:
        raise ValueError(f"{value!r} is not a rate such as 5/s or 120/m")
    per_second = float(match[1]) / (1.0 if match[2] == "s" else 60.0)
    if per_second <= 0:
        raise ValueError("a rate must be above zero")
    return per_second


Rate = Annotated[
    float,
    BeforeValidator(_parse_rate),
    PlainSerializer(lambda per_second: f"{per_second:g}/s", when_used="json"),
]


class WorkloadStream(_Strict):
    """Messages a producer sends: through the seed's view, the durable outbox view, or a task."""

    path: Literal["naive", "durable", "task"] = "naive"
    task: str | None = Field(None, description="module.task_name, for path: task")
    args: list[Any] = Field(default_factory=list)
    kwargs: dict[str, Any] = Field(default_factory=dict)
    count: int = Field(ge=1, le=10_000)
    rate: Rate = Field(10.0, description="sends per second: 5/s")
    at: TimeSpec = Field(0.0, description="first send, from the run's start")

    @model_validator(mode="after")
    def _task_for_task_path(self) -> WorkloadStream:
        if self.path == "task" and self.task is None:
            raise ValueError("path: task needs task: (module.task_name)")
        if self.path != "task" and (self.task is not None or self.args):
            raise ValueError(
                f"path: {self.path} goes through the app's view; task:/args: are for path: task"
            )
        return self

    @property
    def duration(self) -> float:
        return (self.count - 1) / self.rate


class Expectation(BaseModel):
    """One check of the checker's registry with its parameters: ``{check: no_lost}``."""

    model_config = ConfigDict(extra="allow", frozen=True)

    check: str

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    def as_entry(self) -> dict[str, Any]:
        return {"check": self.check, **self.params}


class EndpointStub(_Strict):
    """A real HTTP service the tasks call (a carrier, a mail API), failing by plan.

    The runner starts it on 127.0.0.1 and gives its URL to the workers in ``env``.
    """

    env: str = Field(description="the environment variable the app reads the URL from")
    fail_first: int | Literal["always"] = Field(
        0, description="requests answered with an error before it succeeds, or always"
    )
    fail_status: int = Field(503, ge=400, le=599)

    @field_validator("fail_first")
    @classmethod
    def _not_negative(cls, value: int | str) -> int | str:
        if isinstance(value, int) and value < 0:
            raise ValueError("give a count of 0 or more, or always")
        return value


class Scenario(_Strict):
    """A whole scenario file."""

    name: str = Field(min_length=1)
    description: str = ""
    seed: int | None = None
    app: AppSpec = Field(default_factory=AppSpec)
    topology: Topology = Field(default_factory=Topology)
    workload: list[WorkloadStream] = Field(min_length=1)
    endpoints: dict[str, EndpointStub] = Field(
        default_factory=dict, description="stub services the tasks call, by name"
    )
    faults: list[Fault] = Field(default_factory=list)
    expect: list[Expectation] = Field(min_length=1)
    drain: Duration = Field(30.0, description="deadline for the queues to empty after healing")
    timeout: Duration = Field(300.0, description="deadline for the whole run")

    def to_document(self) -> dict[str, Any]:
        """The scenario as a file would hold it (durations with units): loads back equal."""
        with warnings.catch_warnings():
            # pydantic tries the duration member of a time union on a {between: ...} value before
            # the range member that serializes it; the result is right, the warning is noise.
            warnings.simplefilter("ignore", UserWarning)
            return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def fault_ids(self) -> list[str]:
        """Each fault's id: the one given, else ``<type>-<index>`` (1-based)."""
        return [fault.id or f"{fault.type}-{index}" for index, fault in enumerate(self.faults, 1)]

    @property
    def expected_tasks(self) -> int:
        return sum(stream.count for stream in self.workload)
