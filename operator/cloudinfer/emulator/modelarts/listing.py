"""The queries of ListServices and ShowServiceEvents: paging, order and filters, read from the
request and applied to Service objects directly (nothing is rendered to decide a match).

Paging is ModelArts': `offset` is the **page index** ("start page of the paging list", default
0) and `limit` the page size (default 1000), so a page is rows [offset·limit, (offset+1)·limit).
Filters are exact except `service_name`, matched as a substring (the API does not say which;
a client must compare names itself). `tags` is accepted and not applied: v1 services carry no
tags here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cloudinfer.emulator.modelarts.errors import invalid
from cloudinfer.emulator.modelarts.service import Event, Service

DEFAULT_LIMIT = 1000
MAX_LIMIT = 1000
SORT_KEYS = ("publish_at", "service_name", "transition_at")
EVENT_TYPES = ("normal", "abnormal")


def _int(params: Mapping[str, str], name: str, default: int, low: int, high: int | None) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise invalid(f"parameter [{name}] must be an integer.") from exc
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise invalid(f"parameter [{name}] must be {bound}.")
    return value


def _descending(params: Mapping[str, str]) -> bool:
    order = params.get("order") or "desc"
    if order not in ("asc", "desc"):
        raise invalid("parameter [order] must be asc or desc.")
    return order == "desc"


@dataclass(frozen=True)
class Page:
    index: int = 0  # the API's `offset`
    size: int = DEFAULT_LIMIT  # the API's `limit`

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> Page:
        return cls(
            _int(params, "offset", 0, 0, None),
            _int(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
        )

    @property
    def start(self) -> int:
        return self.index * self.size


@dataclass(frozen=True)
class ServiceQuery:
    page: Page = Page()
    sort: str = "publish_at"
    descending: bool = True
    service_id: str = ""
    service_name: str = ""
    model_id: str = ""
    workspace_id: str = ""
    infer_type: str = ""
    status: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> ServiceQuery:
        sort = params.get("sort_by") or "publish_at"
        if sort not in SORT_KEYS:
            raise invalid(f"parameter [sort_by] must be one of {', '.join(SORT_KEYS)}.")
        return cls(
            page=Page.from_params(params),
            sort=sort,
            descending=_descending(params),
            service_id=params.get("service_id", ""),
            service_name=params.get("service_name", ""),
            model_id=params.get("model_id", ""),
            workspace_id=params.get("workspace_id", ""),
            infer_type=params.get("infer_type", ""),
            status=params.get("status", ""),
        )

    @property
    def filtered(self) -> bool:
        return any(
            (
                self.service_id,
                self.service_name,
                self.model_id,
                self.workspace_id,
                self.infer_type,
                self.status,
            )
        )

    def matches(self, svc: Service) -> bool:
        exact = (
            (self.service_id, svc.service_id),
            (self.workspace_id, svc.attributes.get("workspace_id", "0")),
            (self.infer_type, svc.infer_type),
            (self.status, svc.status),
        )
        if any(wanted and wanted != actual for wanted, actual in exact):
            return False
        if self.service_name not in svc.name:
            return False
        return not self.model_id or any(i["model_id"] == self.model_id for i in svc.config)


def published_key(svc: Service) -> tuple[str, ...]:
    """The publish_at order (to the millisecond, then the id): fixed for a service's life."""
    return (f"{int(svc.created * 1000):015d}", svc.service_id)


def name_key(svc: Service) -> tuple[str, ...]:
    return (svc.name, svc.service_id)


def transition_key(svc: Service) -> tuple[str, ...]:
    """The transition_at order: moves whenever the status changes."""
    return (f"{int(svc.transition * 1000):015d}", svc.service_id)


@dataclass(frozen=True)
class EventQuery:
    page: Page = Page()
    descending: bool = True
    event_type: str = ""
    event_info: str = ""
    start_ms: int | None = None
    end_ms: int | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> EventQuery:
        event_type = params.get("event_type", "")
        if event_type and event_type not in EVENT_TYPES:
            raise invalid("parameter [event_type] must be normal or abnormal.")
        if (params.get("sort_by") or "occur_time") != "occur_time":
            raise invalid("parameter [sort_by] must be occur_time.")
        start = _int(params, "start_time", -1, 0, None)
        end = _int(params, "end_time", -1, 0, None)
        return cls(
            page=Page.from_params(params),
            descending=_descending(params),
            event_type=event_type,
            event_info=params.get("event_info", ""),
            start_ms=None if start < 0 else start,
            end_ms=None if end < 0 else end,
        )

    def select(self, events: list[Event]) -> tuple[list[Event], int]:
        """One page of the matching events, and how many match in all."""
        matched = [e for e in events if self._matches(e)]
        if self.descending:
            matched.reverse()  # events are kept oldest first
        start = self.page.start
        return matched[start : start + self.page.size], len(matched)

    def _matches(self, e: Event) -> bool:
        at = int(e.at * 1000)
        return (
            (not self.event_type or e.type == self.event_type)
            and self.event_info in e.info
            and (self.start_ms is None or at >= self.start_ms)
            and (self.end_ms is None or at <= self.end_ms)
        )
