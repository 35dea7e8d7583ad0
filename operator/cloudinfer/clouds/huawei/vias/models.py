"""The parts of a VIAS algorithm service the operator uses, parsed once (reference/huawei.md
§6, seed 004 "Obtaining Service Details"; the Java SDK's ShowServiceDetailResponse and
ServicesListInfoDto).

A service belongs to an algorithm: DeployAlgorithm and StopDeployAlgorithm name the
algorithm (`alg_id`), ShowServiceDetail the service (`service_id`); both ids are in every
summary and detail. Parsing is lenient: unknown fields are ignored (the seed's example
carries `alg_scene`, which the documented table does not), missing or mistyped optional
ones fall back to empty values, so a field the cloud adds or drops never breaks observation.
`logo` and `diagram` (Base64 images) are not kept: nothing here needs them, and they would
weigh on every snapshot held.

Times (`created_at`, `updated_at`, `release_at`) are epoch milliseconds, as VIAS sends them
(Long); None when absent or unreadable."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# `alg_status` (the doc's nine values; the Java SDK's model agrees).
NOT_DEPLOYED = "not_deployed"  # never deployed, or stopped for good: still listed
SERVICE_DEPLOYING = "service_deploying"
SERVICE_RUNNING = "service_running"
SERVICE_UPGRADING = "service_upgrading"
SERVICE_CONCERNING = "service_concerning"
SERVICE_STOPPING = "service_stopping"
SERVICE_STOPPED = "service_stopped"
SERVICE_FAILED = "service_failed"
SERVICE_FINISHED = "service_finished"
ALG_STATUSES = (
    NOT_DEPLOYED,
    SERVICE_DEPLOYING,
    SERVICE_RUNNING,
    SERVICE_UPGRADING,
    SERVICE_CONCERNING,
    SERVICE_STOPPING,
    SERVICE_STOPPED,
    SERVICE_FAILED,
    SERVICE_FINISHED,
)
TRANSITIONAL = frozenset({SERVICE_DEPLOYING, SERVICE_UPGRADING, SERVICE_STOPPING})


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        return []
    return [x for x in value if isinstance(x, Mapping)]


def _strs(value: Any) -> tuple[str, ...]:
    """A list of strings; numbers kept as their text, anything else (objects, nulls) dropped."""
    if not isinstance(value, list):
        return ()
    return tuple(
        x if isinstance(x, str) else str(x)
        for x in value
        if isinstance(x, str | int | float) and not isinstance(x, bool)
    )


def _opt_bool(value: Any) -> bool | None:
    """A boolean, also spelled "true"/"false" by a lenient server; None otherwise."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def epoch_ms(value: Any) -> int | None:
    """A VIAS time (a Long: epoch milliseconds) as an int; digits in a string too, and an
    ISO 8601 time from a lenient server (no zone counts as UTC). None when absent or
    unreadable."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return _opt_int(value)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return int(text)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def _opt_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: JSON's Infinity
        return None


@dataclass(frozen=True)
class ServiceSummary:
    """A ListUserServices item (ServicesListInfoDto)."""

    alg_id: str  # what deploy and stop name
    service_id: str  # what ShowServiceDetail names
    service_name: str = ""
    alg_status: str = ""  # ALG_STATUSES
    alg_version: str = ""
    function_version: str = ""
    created_at: int | None = None  # epoch ms; the listing's order (sort_name=created_at)
    deploy_type: str = ""  # cloud or edge
    alg_class: str = ""  # self or partner
    request_mode: str = ""  # sync or async
    description: str = ""
    error_msg: str = ""  # why the service failed, when it did
    package_id: str = ""
    package_name: str = ""
    company: str = ""
    tags: tuple[str, ...] = ()
    can_update: bool | None = None  # a newer algorithm version can be deployed
    new_alg_id: str = ""  # that version's algorithm id

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> ServiceSummary:
        return cls(
            alg_id=_str(data.get("alg_id")),
            service_id=_str(data.get("service_id")),
            service_name=_str(data.get("service_name")),
            alg_status=_str(data.get("alg_status")),
            alg_version=_str(data.get("alg_version")),
            function_version=_str(data.get("function_version")),
            created_at=epoch_ms(data.get("created_at")),
            deploy_type=_str(data.get("deploy_type")),
            alg_class=_str(data.get("alg_class")),
            request_mode=_str(data.get("request_mode")),
            description=_str(data.get("description")),
            error_msg=_str(data.get("error_msg")),
            package_id=_str(data.get("package_id")),
            package_name=_str(data.get("package_name")),
            company=_str(data.get("company")),
            tags=_strs(data.get("tags")),
            can_update=_opt_bool(data.get("can_update")),
            new_alg_id=_str(data.get("new_alg_id")),
        )

    @property
    def transitional(self) -> bool:
        return self.alg_status in TRANSITIONAL


@dataclass(frozen=True)
class ServiceApi:
    """One `service_api_list` entry (ServiceApiDto): an API the running service offers."""

    request_type: str = ""  # as sent: the doc says get/post, the example writes POST, PUT...
    url: str = ""  # `request_url`
    description: str = ""  # `en`, else `zh`

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> ServiceApi:
        return cls(
            request_type=_str(data.get("request_type")),
            url=_str(data.get("request_url")),
            description=_str(data.get("en")) or _str(data.get("zh")),
        )


@dataclass(frozen=True)
class Accelerator:
    """One `deployment_constraints.accelerators` entry (AcceleratorsDto)."""

    type: str = ""
    name: str = ""
    cuda_version: str = ""
    driver_version_section: str = ""  # the Ascend driver versions

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Accelerator:
        return cls(
            type=_str(data.get("type")),
            name=_str(data.get("name")),
            cuda_version=_str(data.get("cuda_version")),
            driver_version_section=_str(data.get("driver_version_section")),
        )


@dataclass(frozen=True)
class DeploymentConstraints:
    """`deployment_constraints` (DeploymentConstraintsDto): what the algorithm needs to run.
    `service_config` and `task_config` are XML documents, kept as text."""

    request_mode: str = ""  # sync or async
    cpu_type: str = ""  # x86_64 or aarch64
    accelerators: tuple[Accelerator, ...] = ()
    input_types: tuple[str, ...] = ()  # OBS, URL, Restful, VCN, EdgeCamera
    output_types: tuple[str, ...] = ()  # OBS, DIS, Webhook
    service_config: str = ""  # the startup parameters (what deploy_config may set)
    task_config: str = ""

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> DeploymentConstraints:
        return cls(
            request_mode=_str(data.get("request_mode")),
            cpu_type=_str(data.get("cpu_type")),
            accelerators=tuple(Accelerator.from_api(x) for x in _dicts(data.get("accelerators"))),
            input_types=_strs(data.get("input_types")),
            output_types=_strs(data.get("output_types")),
            service_config=_str(data.get("service_config")),
            task_config=_str(data.get("task_config")),
        )


@dataclass(frozen=True)
class ServiceDetail:
    """A service as ShowServiceDetail returns it (seed 004, Table 3)."""

    service_id: str
    service_name: str = ""
    alg_id: str = ""
    alg_name: str = ""
    alg_version: str = ""
    alg_versions: tuple[str, ...] = ()
    function_version: str = ""
    pool_id: str = ""  # the resource pool it is deployed on
    request_mode: str = ""  # sync or async
    deploy_type: str = ""  # cloud or edge
    alg_status: str = ""  # ALG_STATUSES
    error_msg: str = ""
    created_at: int | None = None  # epoch ms
    updated_at: int | None = None
    release_at: int | None = None
    release_flag: bool | None = None
    api: str = ""  # the service's name in its API paths (`/services/{api}/tasks`)
    package_id: str = ""
    package_name: str = ""
    company: str = ""
    tags: tuple[str, ...] = ()
    alg_class: str = ""  # self or partner
    description: str = ""
    service_apis: tuple[ServiceApi, ...] = ()  # `service_api_list`
    constraints: DeploymentConstraints | None = None  # `deployment_constraints`

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> ServiceDetail:
        constraints = data.get("deployment_constraints")
        return cls(
            service_id=_str(data.get("service_id")),
            service_name=_str(data.get("service_name")),
            alg_id=_str(data.get("alg_id")),
            alg_name=_str(data.get("alg_name")),
            alg_version=_str(data.get("alg_version")),
            alg_versions=_strs(data.get("alg_versions")),
            function_version=_str(data.get("function_version")),
            pool_id=_str(data.get("pool_id")),
            request_mode=_str(data.get("request_mode")),
            deploy_type=_str(data.get("deploy_type")),
            alg_status=_str(data.get("alg_status")),
            error_msg=_str(data.get("error_msg")),
            created_at=epoch_ms(data.get("created_at")),
            updated_at=epoch_ms(data.get("updated_at")),
            release_at=epoch_ms(data.get("release_at")),
            release_flag=_opt_bool(data.get("release_flag")),
            api=_str(data.get("api")),
            package_id=_str(data.get("package_id")),
            package_name=_str(data.get("package_name")),
            company=_str(data.get("company")),
            tags=_strs(data.get("tags")),
            alg_class=_str(data.get("alg_class")),
            description=_str(data.get("description")),
            service_apis=tuple(
                ServiceApi.from_api(x) for x in _dicts(data.get("service_api_list"))
            ),
            constraints=(
                DeploymentConstraints.from_api(constraints)
                if isinstance(constraints, Mapping)
                else None
            ),
        )

    @property
    def transitional(self) -> bool:
        return self.alg_status in TRANSITIONAL

    @property
    def changed_at(self) -> int:
        """The newest of the service's own time stamps (epoch ms), 0 when it has none."""
        stamps = (self.updated_at, self.created_at)
        return max((t for t in stamps if t is not None), default=0)


@dataclass(frozen=True)
class ServicePage:
    """One ListUserServices answer. `page_num` and `page_size` are what was asked for;
    `count` and `total` are as the answer said (None when it did not)."""

    services: list[ServiceSummary]
    count: int | None
    total: int | None
    page_num: int
    page_size: int

    @classmethod
    def from_api(cls, data: Mapping[str, Any], page_num: int, page_size: int) -> ServicePage:
        return cls(
            services=[ServiceSummary.from_api(x) for x in _dicts(data.get("service_list"))],
            count=_opt_int(data.get("count")),
            total=_opt_int(data.get("total")),
            page_num=page_num,
            page_size=page_size,
        )
