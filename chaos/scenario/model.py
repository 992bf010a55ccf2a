"""The scenario as validated data: one pydantic model per part of the file.

A scenario is what a team reads in review: the app, the topology, the workload, a fault timeline
and the expectations. Field-level rules live here; rules that need the whole file (an ``after:``
naming a fault that exists, a worker that the topology has, faults that contradict each other)
live in ``chaos.scenario.semantics``.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
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
    "DatabaseSpec",
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
    "WorkerOverrides",
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


def _env_value(value: Any) -> Any:
    """YAML reads ``FAILURES: 2`` as a number; an environment holds its text."""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value) if isinstance(value, (int, float)) else value


EnvValue = Annotated[str, BeforeValidator(_env_value)]


class DatabaseSpec(_Strict):
    """How the run's own SQLite database reaches the app: the variable its settings read, or
    (without ``env``) a settings wrapper that overrides ``DATABASES[alias]["NAME"]``."""

    env: str | None = Field(None, description="environment variable the settings read the path from")
    alias: str = Field("default", description="which entry of DATABASES is the run's")

    @field_validator("env")
    @classmethod
    def _variable_name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            raise ValueError(f"{value!r} is not an environment variable name")
        return value


class AppSpec(_Strict):
    """The Celery app under test; the reference app (``app/``) by default."""

    name: str = Field("myproject", description="what celery -A takes")
    workdir: str | None = Field(None, description="directory the app lives in; app/ if absent")
    settings: str | None = Field(
        None, description="DJANGO_SETTINGS_MODULE; found in manage.py if absent, null: no Django"
    )
    env: dict[str, EnvValue] = Field(
        default_factory=dict, description="environment of every app process (workers, producer)"
    )
    database: DatabaseSpec = Field(default_factory=DatabaseSpec)
    setup: list[str] = Field(
        default_factory=list, description="commands run after migrations, before the workers"
    )

    @field_validator("env")
    @classmethod
    def _variable_names(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [name for name in value if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name)]
        if bad:
            raise ValueError(f"not environment variable names: {', '.join(map(repr, bad))}")
        return value

    @field_validator("setup")
    @classmethod
    def _commands(cls, value: list[str]) -> list[str]:
        if any(not command.strip() for command in value):
            raise ValueError("an empty setup command")
        return value

    def settings_for(self, workdir: Path) -> str | None:
        """The settings module: the one given, else manage.py's ``DJANGO_SETTINGS_MODULE``
        default; None for a plain Celery app (or ``settings: null``)."""
        if self.settings is not None or "settings" in self.model_fields_set:
            return self.settings
        return settings_from_manage_py(workdir)


_MANAGE_PY_SETTINGS = re.compile(
    r"""DJANGO_SETTINGS_MODULE['"]\s*,\s*['"]([A-Za-z_][\w.]*)['"]"""
)


def settings_from_manage_py(workdir: Path) -> str | None:
    """``os.environ.setdefault("DJANGO_SETTINGS_MODULE", "x.settings")`` as manage.py writes it."""
    manage = workdir / "manage.py"
    try:
        match = _MANAGE_PY_SETTINGS.search(manage.read_text(errors="replace"))
    except OSError:
        return None
    return match[1] if match else None


PoolName = Literal["solo", "prefork", "threads"]
QueueNames = Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]


class WorkerOverrides(_Strict):
    """What one worker does differently from the topology's defaults: ``{queues: [other]}``."""

    pool: PoolName | None = None
    concurrency: int | None = Field(None, ge=1, le=16)
    queues: QueueNames | None = Field(None, description="celery worker -Q")
    mingle: bool | None = None
    gossip: bool | None = None
    heartbeat: bool | None = None
    prefetch_multiplier: int | None = Field(None, ge=0, description="worker_prefetch_multiplier")
    disable_prefetch: bool | None = Field(
        None, description="worker_disable_prefetch (5.6+, Redis): fetch with a free slot only"
    )


class Topology(_Strict):
    """Workers and broker settings the stack starts.

    Workers start lean by default (solo pool; mingle, gossip and heartbeat off: mingle alone
    costs about 1 s at every start, and the library's verdicts were taken that way). A scenario
    shaped like production says so: ``pool: prefork``, ``mingle: true``, ``gossip: true``,
    ``heartbeat: true`` (``celery worker``'s own defaults), ``queues: [...]`` for ``-Q``; and
    ``per_worker`` shapes one worker by name (``worker-2: {queues: [other], pool: solo}``).
    """

    workers: int = Field(1, ge=1, le=8)
    pool: PoolName = "solo"
    concurrency: int = Field(1, ge=1, le=16)
    queues: QueueNames | None = Field(None, description="celery worker -Q, for every worker")
    mingle: bool = Field(False, description="Celery's mingle step at start (celery worker: on)")
    gossip: bool = Field(False, description="Celery's gossip step (celery worker: on)")
    heartbeat: bool = Field(False, description="worker heartbeat events (celery worker: on)")
    per_worker: dict[str, WorkerOverrides] = Field(
        default_factory=dict, description="one worker's own shape, by name (worker-1, ...)"
    )
    prefetch_multiplier: int | None = Field(None, ge=0)
    disable_prefetch: bool | None = Field(
        None, description="worker_disable_prefetch (5.6+, Redis): fetch with a free slot only"
    )
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


HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_HTTP_FIELDS = ("method", "url", "json_body", "form", "headers", "expect_status", "host")


class WorkloadStream(_Strict):
    """Messages a producer sends: through the seed's view, the durable outbox view, a task, or any
    view of the app over HTTP (``path: http``, Django's test client; ``{n}`` is the send number)."""

    path: Literal["naive", "durable", "task", "http"] = "naive"
    task: str | None = Field(None, description="module.task_name, for path: task")
    args: list[Any] = Field(default_factory=list)
    kwargs: dict[str, Any] = Field(default_factory=dict)
    count: int = Field(ge=1, le=10_000)
    rate: Rate = Field(10.0, description="sends per second: 5/s")
    at: TimeSpec = Field(0.0, description="first send, from the run's start")
    countdown: Duration | None = Field(None, description="apply_async(countdown=...)")
    eta: Duration | None = Field(None, description="apply_async(eta=now + this), at each send")
    queue: str | None = Field(None, min_length=1, description="apply_async(queue=...)")
    routing_key: str | None = Field(None, min_length=1, description="apply_async(routing_key=...)")
    chain: list[Annotated[str, Field(min_length=1)]] | None = Field(
        None, min_length=1, description="tasks run after this one, each given the previous result"
    )
    method: Literal[HTTP_METHODS] | None = Field(None, description="path: http; POST if absent")  # type: ignore[valid-type]
    url: str | None = Field(None, description="path: http, the URL path: /api/invoices/")
    json_body: Any = Field(None, alias="json", description="path: http, a JSON body")
    form: dict[str, Any] | None = Field(None, description="path: http, a form-encoded body")
    headers: dict[str, EnvValue] = Field(default_factory=dict, description="path: http")
    expect_status: list[Annotated[int, Field(ge=100, le=599)]] | None = Field(
        None, min_length=1, description="path: http, the statuses that mean accepted (any 2xx)"
    )
    host: str | None = Field(None, description="path: http, the Host header; ALLOWED_HOSTS[0]")

    @model_validator(mode="after")
    def _task_for_task_path(self) -> WorkloadStream:
        if self.path == "task" and self.task is None:
            raise ValueError("path: task needs task: (module.task_name)")
        publish_options = sorted(self.publish_options)
        if self.path != "task" and (self.task is not None or self.args or self.kwargs
                                    or publish_options):  # fmt: skip
            given = ", ".join(["task:/args:/kwargs:", *(f"{name}:" for name in publish_options)])
            raise ValueError(f"path: {self.path} sends no task itself; {given} are for path: task")
        if self.countdown is not None and self.eta is not None:
            raise ValueError("give countdown: or eta: (both delay the task), not both")
        given_http = [name for name in _HTTP_FIELDS
                      if name in self.model_fields_set and name != "headers" or
                      (name == "headers" and self.headers)]  # fmt: skip
        if self.path != "http" and given_http:
            names = ", ".join("json" if n == "json_body" else n for n in given_http)
            raise ValueError(f"{names}: for path: http only (this stream is path: {self.path})")
        if self.path == "http":
            if not self.url or not self.url.startswith("/"):
                raise ValueError("path: http needs url: a path on the app such as /api/orders/")
            if self.json_body is not None and self.form is not None:
                raise ValueError("give json: or form:, not both")
        return self

    def http_request(self) -> dict[str, Any] | None:
        """The request a ``path: http`` stream sends, as the workload process reads it."""
        if self.path != "http":
            return None
        return {
            "method": self.method or "POST", "url": self.url, "json": self.json_body,
            "form": self.form, "headers": dict(self.headers),
            "expect_status": self.expect_status, "host": self.host,
        }  # fmt: skip

    @property
    def publish_options(self) -> dict[str, Any]:
        """What the producer passes on to ``apply_async`` for every message of the stream."""
        options = {"countdown": self.countdown, "eta": self.eta, "queue": self.queue,
                   "routing_key": self.routing_key, "chain": self.chain}  # fmt: skip
        return {name: value for name, value in options.items() if value is not None}

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
