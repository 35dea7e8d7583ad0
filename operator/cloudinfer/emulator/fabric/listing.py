"""The queries of ListServicesInstances and ListEndpoints: paging, order and filters, read from
the request and applied to Instance and Endpoint objects directly (nothing is rendered to
decide a match).

Paging is Fabric's (reference/huawei.md §5.1): `offset` is a **record offset** in
[0, 1000000000] (default 0) and `limit` the page size in [1, 100] (default 10); the response
has `total` and no count.

ListServicesInstances: `sort_by` CREATE_TIME (default) or DURATION (time since deployed, so
the reverse of CREATE_TIME), `order_by` ASC or DESC (default DESC). Filters: `id`,
`endpoint_id`, `source_id`, `version_id` and `type` (LLM_MODEL, PGSQL_SERVICE) exact; `name`
fuzzy (a case-insensitive substring, as the SDK doc's "支持模糊查询" reads); `visibility`
PRIVATE (the caller's own: every instance here), PUBLIC (public ones: none, the emulator
deploys only private instances) or empty (the caller's, both).

ListEndpoints: newest first. Filters: `endpoint_id` and `type` (EndpointType) exact, `name`
fuzzy, `model_id` an endpoint with a live instance of that source id, `visibility` PRIVATE,
PUBLIC (none) or ALL."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cloudinfer.emulator.fabric.endpoint import TYPES as ENDPOINT_TYPES
from cloudinfer.emulator.fabric.endpoint import Endpoint
from cloudinfer.emulator.fabric.errors import invalid
from cloudinfer.emulator.fabric.service import Instance

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
MAX_OFFSET = 1_000_000_000
SORT_KEYS = ("CREATE_TIME", "DURATION")
ORDERS = ("ASC", "DESC")
SERVICE_TYPES = ("LLM_MODEL", "PGSQL_SERVICE")
INSTANCE_TYPE = "LLM_MODEL"  # what every emulated instance is: a model on an inference endpoint
VISIBILITY = "PRIVATE"  # what every emulated instance and endpoint is


def _int(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise invalid(f"Invalid parameter [{name}]: it must be an integer.") from exc
    if not low <= value <= high:
        raise invalid(f"Invalid parameter [{name}]: it must be in [{low}, {high}], got {value}.")
    return value


def _choice(params: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str:
    value = params.get(name, "")
    if value and value not in allowed:
        raise invalid(f"Invalid parameter [{name}]: it must be one of {', '.join(allowed)}.")
    return value


@dataclass(frozen=True)
class Page:
    offset: int = 0  # a record offset
    limit: int = DEFAULT_LIMIT

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> Page:
        return cls(
            _int(params, "offset", 0, 0, MAX_OFFSET),
            _int(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
        )


@dataclass(frozen=True)
class InstanceQuery:
    page: Page = Page()
    descending: bool = True  # newest first (CREATE_TIME DESC)
    id: str = ""
    name: str = ""
    endpoint_id: str = ""
    source_id: str = ""
    version_id: str = ""
    type: str = ""
    visibility: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> InstanceQuery:
        sort = _choice(params, "sort_by", SORT_KEYS) or "CREATE_TIME"
        order = _choice(params, "order_by", ORDERS) or "DESC"
        # DURATION grows with age: ascending duration is descending creation time.
        descending = (order == "DESC") == (sort == "CREATE_TIME")
        return cls(
            page=Page.from_params(params),
            descending=descending,
            id=params.get("id", ""),
            name=params.get("name", ""),
            endpoint_id=params.get("endpoint_id", ""),
            source_id=params.get("source_id", ""),
            version_id=params.get("version_id", ""),
            type=_choice(params, "type", SERVICE_TYPES),
            visibility=_choice(params, "visibility", ("PRIVATE", "PUBLIC")),
        )

    @property
    def filtered(self) -> bool:
        return any(
            (
                self.id,
                self.name,
                self.endpoint_id,
                self.source_id,
                self.version_id,
                self.type,
                self.visibility,
            )
        )

    def matches(self, inst: Instance) -> bool:
        exact = (
            (self.id, inst.instance_id),
            (self.endpoint_id, inst.endpoint_id),
            (self.source_id, inst.source_id),
            (self.version_id, inst.version_id or ""),
            (self.type, INSTANCE_TYPE),
            (self.visibility, VISIBILITY),
        )
        if any(wanted and wanted != actual for wanted, actual in exact):
            return False
        return self.name.lower() in inst.name.lower()


@dataclass(frozen=True)
class EndpointQuery:
    page: Page = Page()
    endpoint_id: str = ""
    name: str = ""
    type: str = ""
    model_id: str = ""
    visibility: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> EndpointQuery:
        return cls(
            page=Page.from_params(params),
            endpoint_id=params.get("endpoint_id", ""),
            name=params.get("name", ""),
            type=_choice(params, "type", ENDPOINT_TYPES),
            model_id=params.get("model_id", ""),
            visibility=_choice(params, "visibility", ("PRIVATE", "PUBLIC", "ALL")),
        )

    def matches(self, ep: Endpoint, models: set[str]) -> bool:
        """`models`: the source ids of the endpoint's live instances."""
        if self.endpoint_id and self.endpoint_id != ep.endpoint_id:
            return False
        if self.type and self.type != ep.type:
            return False
        if self.visibility == "PUBLIC":
            return False
        if self.model_id and self.model_id not in models:
            return False
        return self.name.lower() in ep.name.lower()


def created_key(inst: Instance) -> tuple[str, ...]:
    """The create_time order (to the millisecond, then the id): fixed for an instance's life."""
    return (f"{int(inst.created * 1000):015d}", inst.instance_id)
