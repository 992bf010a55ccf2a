"""The scenario as validated data: one pydantic model per part of the file.

A scenario is what a team reads in review: the app, the topology, the workload, a fault timeline
and the expectations. Field-level rules live here; rules that need the whole file (an ``after:``
naming a fault that exists, a worker that the topology has, faults that contradict each other)
live in ``chaos.scenario.semantics``.
"""

from __future__ import annotations

import re
import warnings
from typing import Annotated, Any, Literal, Union

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

from chaos.clock import MAX_DILATION
from chaos.faults import fault_type, fault_types
from chaos.faults.broker import BrokerFault, BrokerRestart
from chaos.faults.entry import (
    Duration,
    PositiveDuration,
    RandomRange,
    TimedFault,
    TimeSpec,
    parse_after,
)
from chaos.faults.entry import StrictEntry as _Strict
from chaos.faults.failpoint import FailpointFault, HitRange
from chaos.faults.proxy import TOXIC_ATTRIBUTES, ProxyDown, ProxyToxic
from chaos.faults.worker import WorkerFault, WorkerScale

# The fault entries' models live with their fault types (chaos.faults); these names stay
# importable from here, where scenarios' other parts are.
__all__ = [
    "FAULT_MODELS",
    "FAULT_TYPES",
    "RUN_EVENTS",
    "TOXIC_ATTRIBUTES",
    "UNTIL_CONDITIONS",
    "AppSpec",
    "BrokerFault",
    "BrokerRestart",
    "Duration",
    "PositiveDuration",
    "EndpointStub",
    "Expectation",
    "FailpointFault",
    "Fault",
    "HitRange",
    "ProxyDown",
    "ProxyToxic",
    "RandomRange",
    "Scenario",
    "TimeSpec",
    "Topology",
    "WorkerFault",
    "WorkerScale",
    "WorkloadStream",
    "parse_after",
]

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


def _fault_union() -> Any:
    """The ``faults:`` entry type: one union member per registered model, told apart by ``type``.

    Types that share a model (``broker.kill``/``stop``/``pause``) share one member, so pydantic
    reports a bad entry against the one model it was meant for.
    """
    members: dict[str, type[TimedFault]] = {}
    for registered in fault_types().values():
        members.setdefault(registered.union_tag, registered.model)
    union = Union[tuple(Annotated[model, Tag(tag)] for tag, model in members.items())]  # noqa: UP007
    return Annotated[
        union,
        Discriminator(
            _fault_kind,
            custom_error_type="unknown_fault_type",
            custom_error_message="unknown fault type",
        ),
    ]


def _fault_kind(value: Any) -> str | None:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    registered = fault_type(kind) if isinstance(kind, str) else None
    return registered.union_tag if registered is not None else None


FAULT_MODELS: dict[str, type[TimedFault]] = {
    name: registered.model for name, registered in fault_types().items()
}
FAULT_TYPES: tuple[str, ...] = tuple(FAULT_MODELS)

Fault = _fault_union()
"""A fault entry of the scenario: any registered fault type's model."""


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


class ClockSpec(_Strict):
    """The app's clock: ``dilation: N`` runs every app process N times faster than real time
    (local backend; the times in the file stay the app's)."""

    dilation: float = Field(1.0, ge=1.0, le=MAX_DILATION,
                            description="app seconds per real second (1: real time)")


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
    known_broken: str | None = Field(
        None, min_length=1,
        description="why the scenario's promise does not hold, and the fix: failures are "
        "KNOWN BROKEN, and all expectations holding fails the gate",
    )
    relax: dict[str, Annotated[str, Field(pattern=r"\S")]] | None = Field(
        None, description="always-on invariants this scenario relaxes: name -> the reason"
    )
    drain: PositiveDuration = Field(
        30.0, description="deadline for the queues to empty after healing"
    )
    timeout: PositiveDuration = Field(300.0, description="deadline for the whole run")
    allow_unexercised: bool = Field(
        False, description="let every expectation hold on a run that did not exercise it"
    )
    clock: ClockSpec = Field(default_factory=ClockSpec)

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
