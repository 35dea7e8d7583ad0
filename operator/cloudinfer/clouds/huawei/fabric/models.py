"""The parts of a DataArts Fabric service instance and inference endpoint the operator uses,
parsed once (reference/huawei.md §5, seed 001; the SDK models of
`huaweicloudsdkdataartsfabricep` and `huaweicloudsdkdataartsfabric`).

ShowServiceInstanceDetail and ListServicesInstances items share one shape, but a list item
(ServiceInstanceBriefInfo) carries no `url`, `config`, `error_code` or `error_msg`: those are
simply empty when parsed from a listing. Parsing is lenient: unknown fields are ignored,
missing or mistyped optional ones fall back to empty values, so a field the cloud adds or
drops never breaks observation.

Times are kept as the API writes them (ISO 8601, `2023-05-30T12:24:30.401Z`); `*_ms`
properties give them as epoch milliseconds (None when absent or unreadable)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# ServiceInstance `status` (the SDK's StatusEnum).
PENDING = "PENDING"
CREATING = "CREATING"
RUNNING = "RUNNING"
UPDATING = "UPDATING"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
STOPPING = "STOPPING"
STOPPED = "STOPPED"
DELETING = "DELETING"
DELETED = "DELETED"
STATUSES = (
    PENDING,
    CREATING,
    RUNNING,
    UPDATING,
    SUCCEEDED,
    FAILED,
    STOPPING,
    STOPPED,
    DELETING,
    DELETED,
)
TRANSITIONAL = frozenset({PENDING, CREATING, UPDATING, STOPPING, DELETING})

# ServiceInstance `type` (the SDK's ServiceType; PGSQL_SERVICE is deprecated).
LLM_MODEL = "LLM_MODEL"
PGSQL_SERVICE = "PGSQL_SERVICE"

# Endpoint `type` of an inference endpoint, whose capacity is `reserved_resource.mu`.
INFERENCE = "inference"


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _opt_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        return []
    return [x for x in value if isinstance(x, Mapping)]


def epoch_ms(value: str) -> int | None:
    """An API time as epoch milliseconds: ISO 8601 (`Z` or an offset; no zone counts as
    UTC), or a number already in milliseconds. None when empty or unreadable."""
    text = value.strip()
    if not text:
        return None
    if text.isdigit():
        return int(text)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def _time(value: Any) -> str:
    """A time field as text; a number (epoch ms from a lenient server) kept as its digits."""
    if isinstance(value, bool):
        return ""
    if isinstance(value, int | float):
        return str(int(value))
    return _str(value)


@dataclass(frozen=True)
class InstanceUrl:
    """One `url{name, address, type}` of a service instance: where it is invoked."""

    name: str = ""
    address: str = ""
    type: str = ""

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> InstanceUrl:
        return cls(
            name=_str(data.get("name")),
            address=_str(data.get("address")),
            type=_str(data.get("type")),
        )


def _urls(value: Any) -> tuple[InstanceUrl, ...]:
    """`url` as the SDK models it (one object), or a list of them; empty ones dropped."""
    items = [value] if isinstance(value, Mapping) else _dicts(value)
    urls = (InstanceUrl.from_api(x) for x in items)
    return tuple(u for u in urls if u.address or u.name or u.type)


@dataclass(frozen=True)
class ServiceInstance:
    """A service instance as ShowServiceInstanceDetail or a ListServicesInstances item
    returns it."""

    id: str
    name: str = ""
    description: str = ""
    endpoint_id: str = ""
    source_id: str = ""  # the model id, for an inference instance
    version_id: str = ""  # the model version id
    status: str = ""  # STATUSES
    type: str = ""  # LLM_MODEL (PGSQL_SERVICE deprecated)
    visibility: str = ""  # PRIVATE or PUBLIC
    create_time: str = ""  # ISO 8601, as sent
    update_time: str = ""
    duration: int | None = None
    urls: tuple[InstanceUrl, ...] = ()  # Show only
    resource_min: int | None = None  # config.model_instance_config.resource; Show only
    resource_max: int | None = None
    spec_code: str = ""
    error_code: str = ""  # Show only, when the instance failed
    error_msg: str = ""

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> ServiceInstance:
        source = _mapping(data.get("source"))
        config = _mapping(data.get("config"))
        resource = _mapping(_mapping(config.get("model_instance_config")).get("resource"))
        return cls(
            id=_str(data.get("id")),
            name=_str(data.get("name")),
            description=_str(data.get("description")),
            endpoint_id=_str(data.get("endpoint_id")),
            source_id=_str(source.get("id")),
            version_id=_str(source.get("version_id")),
            status=_str(data.get("status")),
            type=_str(data.get("type")),
            visibility=_str(data.get("visibility")),
            create_time=_time(data.get("create_time")),
            update_time=_time(data.get("update_time")),
            duration=_opt_int(data.get("duration")),
            urls=_urls(data.get("url")),
            resource_min=_opt_int(resource.get("min")),
            resource_max=_opt_int(resource.get("max")),
            spec_code=_str(resource.get("spec_code")),
            error_code=_str(data.get("error_code")),
            error_msg=_str(data.get("error_msg")),
        )

    @property
    def url_address(self) -> str:
        """The first url's address ("" when none)."""
        return self.urls[0].address if self.urls else ""

    @property
    def url_type(self) -> str:
        return self.urls[0].type if self.urls else ""

    @property
    def transitional(self) -> bool:
        return self.status in TRANSITIONAL

    @property
    def create_time_ms(self) -> int | None:
        return epoch_ms(self.create_time)

    @property
    def update_time_ms(self) -> int | None:
        return epoch_ms(self.update_time)

    @property
    def changed_at(self) -> int:
        """The newest of the instance's own time stamps (epoch ms), 0 when it has none."""
        stamps = (self.update_time_ms, self.create_time_ms)
        return max((t for t in stamps if t is not None), default=0)


@dataclass(frozen=True)
class InstancePage:
    """One ListServicesInstances answer. `offset` is the record offset that was asked for."""

    instances: list[ServiceInstance]
    offset: int
    limit: int
    total: int | None  # None when the answer did not say

    @classmethod
    def from_api(cls, data: Mapping[str, Any], offset: int, limit: int) -> InstancePage:
        return cls(
            instances=[ServiceInstance.from_api(x) for x in _dicts(data.get("service_instances"))],
            offset=offset,
            limit=limit,
            total=_opt_int(data.get("total")),
        )


@dataclass(frozen=True)
class FabricEndpoint:
    """An endpoint as ShowEndpoint (host `fabric.{region}`) returns it. For an inference
    endpoint, `reserved_resource.mu` is its capacity: the instances on it may together ask
    for at most `mu_max` units."""

    id: str
    name: str = ""
    type: str = ""  # service, ray, inference, job, ...
    status: str = ""  # CREATING, RUNNING, CREATE_FAILED, ..., FROZEN, INACTIVE
    description: str = ""
    mu_spec_code: str = ""
    mu_min: int | None = None
    mu_max: int | None = None
    error_code: str = ""
    error_msg: str = ""

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> FabricEndpoint:
        mu = _mapping(_mapping(data.get("reserved_resource")).get("mu"))
        return cls(
            id=_str(data.get("id")),
            name=_str(data.get("name")),
            type=_str(data.get("type")),
            status=_str(data.get("status")),
            description=_str(data.get("description")),
            mu_spec_code=_str(mu.get("spec_code")),
            mu_min=_opt_int(mu.get("min")),
            mu_max=_opt_int(mu.get("max")),
            error_code=_str(data.get("error_code")),
            error_msg=_str(data.get("error_msg")),
        )


@dataclass(frozen=True)
class EndpointPage:
    """One ListEndpoints answer."""

    endpoints: list[FabricEndpoint]
    offset: int
    limit: int
    total: int | None

    @classmethod
    def from_api(cls, data: Mapping[str, Any], offset: int, limit: int) -> EndpointPage:
        return cls(
            endpoints=[FabricEndpoint.from_api(x) for x in _dicts(data.get("endpoints"))],
            offset=offset,
            limit=limit,
            total=_opt_int(data.get("total")),
        )
