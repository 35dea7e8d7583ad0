"""The parts of a ModelArts v1 real-time service the operator uses, parsed once.

ShowService (seed 003) and ListServices items share one shape, but a list item carries no
`config`, `access_address` or `error_msg`: those fields are simply empty when parsed from a
listing. Parsing is lenient: unknown fields are ignored, missing or mistyped optional ones
fall back to empty values, so a field the cloud adds or drops never breaks observation.
Times are epoch milliseconds, as the API sends them.

`envs` may hold values the adapter resolved from Secrets, so they are kept out of reprs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# ModelArts v1 service states (ShowService/ListServices).
RUNNING = "running"
DEPLOYING = "deploying"
CONCERNING = "concerning"
FAILED = "failed"
STOPPED = "stopped"
FINISHED = "finished"  # batch services only
STOPPING = "stopping"
DELETING = "deleting"
PENDING = "pending"
WAITING = "waiting"
TRANSITIONAL = frozenset({DEPLOYING, STOPPING, DELETING, PENDING, WAITING})


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _int(value: Any, default: int = 0) -> int:
    if isinstance(value, bool):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _opt_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _opt_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _str_map(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {str(k): _str(v) for k, v in value.items()}


def _dicts(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        return []
    return [dict(x) for x in value if isinstance(x, Mapping)]


@dataclass(frozen=True)
class CustomSpec:
    """`custom_spec` of a config item: CPU cores, memory in MB, GPU (P4) count, Ascend chips."""

    cpu: float | None = None
    memory: int | None = None
    gpu_p4: float | None = None
    ascend_a310: int | None = None

    @classmethod
    def from_api(cls, data: Any) -> CustomSpec | None:
        if not isinstance(data, Mapping):
            return None
        return cls(
            cpu=_opt_float(data.get("cpu")),
            memory=_opt_int(data.get("memory")),
            gpu_p4=_opt_float(data.get("gpu_p4")),
            ascend_a310=_opt_int(data.get("ascend_a310")),
        )

    def to_api(self) -> dict[str, Any]:
        """The request shape, without the fields that are not set."""
        out: dict[str, Any] = {}
        for key in ("cpu", "memory", "gpu_p4", "ascend_a310"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


@dataclass(frozen=True)
class ServiceConfig:
    """One model of the service (a `config[]` item of ShowService, QueryServiceConfig)."""

    model_id: str
    model_name: str = ""
    model_version: str = ""
    specification: str = ""
    custom_spec: CustomSpec | None = None
    instance_count: int = 0
    weight: int = 0
    status: str = ""  # running, deploying, concerning, failed, stopped, finished, notReady
    envs: dict[str, str] = field(default_factory=dict, repr=False)
    cluster_id: str = ""
    pool_name: str = ""
    scaling: bool = False
    additional_properties: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> ServiceConfig:
        return cls(
            model_id=_str(data.get("model_id")),
            model_name=_str(data.get("model_name")),
            model_version=_str(data.get("model_version")),
            specification=_str(data.get("specification")),
            custom_spec=CustomSpec.from_api(data.get("custom_spec")),
            instance_count=_int(data.get("instance_count")),
            weight=_int(data.get("weight")),
            status=_str(data.get("status")),
            envs=_str_map(data.get("envs")),
            cluster_id=_str(data.get("cluster_id")),
            pool_name=_str(data.get("pool_name")),
            scaling=data.get("scaling") is True,
            additional_properties=_str_map(data.get("additional_properties")),
        )


@dataclass(frozen=True)
class ModelArtsService:
    """A real-time (or batch) service as ShowService or a ListServices item returns it."""

    service_id: str
    service_name: str = ""
    description: str = ""
    status: str = ""
    progress: int | None = None  # only while deploying
    infer_type: str = ""
    access_address: str = ""  # real-time services, ShowService only
    bind_access_address: str = ""
    error_msg: str = ""  # when status is failed
    workspace_id: str = ""
    cluster_id: str = ""
    pool_name: str = ""
    config: tuple[ServiceConfig, ...] = ()  # ShowService only
    additional_properties: dict[str, str] = field(default_factory=dict)
    schedule: list[dict[str, Any]] = field(default_factory=list)
    publish_at: int | None = None
    update_time: int | None = None  # the current configuration's, epoch ms
    transition_at: int | None = None  # the last status change, epoch ms
    operation_time: int | None = None
    due_time: int | None = None  # auto-stop time
    is_shared: bool = False

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> ModelArtsService:
        config = data.get("config")
        items = config if isinstance(config, list) else []
        return cls(
            service_id=_str(data.get("service_id")),
            service_name=_str(data.get("service_name")),
            description=_str(data.get("description")),
            status=_str(data.get("status")),
            progress=_opt_int(data.get("progress")),
            infer_type=_str(data.get("infer_type")),
            access_address=_str(data.get("access_address")),
            bind_access_address=_str(data.get("bind_access_address")),
            error_msg=_str(data.get("error_msg")),
            workspace_id=_str(data.get("workspace_id")),
            cluster_id=_str(data.get("cluster_id")),
            pool_name=_str(data.get("pool_name")),
            config=tuple(ServiceConfig.from_api(x) for x in items if isinstance(x, Mapping)),
            additional_properties=_str_map(data.get("additional_properties")),
            schedule=_dicts(data.get("schedule")),
            publish_at=_opt_int(data.get("publish_at")),
            update_time=_opt_int(data.get("update_time")),
            transition_at=_opt_int(data.get("transition_at")),
            operation_time=_opt_int(data.get("operation_time")),
            due_time=_opt_int(data.get("due_time")),
            is_shared=data.get("is_shared") is True,
        )

    @property
    def transitional(self) -> bool:
        return self.status in TRANSITIONAL

    @property
    def instance_count(self) -> int:
        """Instances asked for over all models."""
        return sum(c.instance_count for c in self.config)

    @property
    def changed_at(self) -> int:
        """The newest of the service's own change stamps (epoch ms), 0 when it has none."""
        return max(
            (t for t in (self.update_time, self.transition_at, self.publish_at) if t is not None),
            default=0,
        )


@dataclass(frozen=True)
class ServicePage:
    """One ListServices answer. `page` is the `offset` that was asked for: a page index."""

    services: list[ModelArtsService]
    page: int
    limit: int
    total_count: int | None  # None when the answer did not say
    count: int


@dataclass(frozen=True)
class ServiceEvent:
    event_type: str  # normal or abnormal
    event_info: str
    occur_time: int  # epoch ms

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> ServiceEvent:
        return cls(
            event_type=_str(data.get("event_type")),
            event_info=_str(data.get("event_info")),
            occur_time=_int(data.get("occur_time")),
        )

    @property
    def abnormal(self) -> bool:
        return self.event_type == "abnormal"


@dataclass(frozen=True)
class EventPage:
    """One ShowServiceEvents answer."""

    service_id: str
    service_name: str
    events: list[ServiceEvent]
    page: int
    limit: int
    total_count: int | None  # None when the answer did not say
    count: int

    @classmethod
    def from_api(cls, data: Mapping[str, Any], page: int, limit: int) -> EventPage:
        events = [ServiceEvent.from_api(x) for x in _dicts(data.get("events"))]
        return cls(
            service_id=_str(data.get("service_id")),
            service_name=_str(data.get("service_name")),
            events=events,
            page=page,
            limit=limit,
            total_count=_opt_int(data.get("total_count")),
            count=_int(data.get("count"), len(events)),
        )


def service_page(data: Mapping[str, Any], page: int, limit: int) -> ServicePage:
    services = [ModelArtsService.from_api(x) for x in _dicts(data.get("services"))]
    return ServicePage(
        services=services,
        page=page,
        limit=limit,
        total_count=_opt_int(data.get("total_count")),
        count=_int(data.get("count"), len(services)),
    )
