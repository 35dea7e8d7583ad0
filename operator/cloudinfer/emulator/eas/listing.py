"""ListServices' query: paging, sorting and filters, read from the request and applied to
Service objects directly (nothing is rendered to decide whether it matches)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cloudinfer.emulator.eas.errors import EasApiError
from cloudinfer.emulator.eas.service import Service, rfc3339

SORT_KEYS = ("CreateTime", "UpdateTime", "ServiceName", "Status")
MAX_PAGE_SIZE = 100


def parse_int(value: str | None, name: str, default: int) -> int:
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise EasApiError(400, "InvalidParameter", f"{name} must be an integer") from exc


def parse_json(value: str | None, name: str) -> Any:
    if value in (None, ""):
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise EasApiError(400, "InvalidParameter", f"{name} must be JSON") from exc


@dataclass(frozen=True)
class ListQuery:
    page: int = 1
    size: int = MAX_PAGE_SIZE
    sort: str = "CreateTime"
    descending: bool = True  # the API's default Order is desc
    name_contains: str = ""  # Filter: fuzzy match on the name
    # Exact matches; "" matches anything.
    name: str = ""
    status: str = ""
    uid: str = ""
    workspace: str = ""
    group: str = ""
    resource: str = ""
    labels: dict[str, str | None] = field(default_factory=dict)  # None: the key alone

    @classmethod
    def from_params(cls, q: Mapping[str, str]) -> ListQuery:
        page = parse_int(q.get("PageNumber"), "PageNumber", 1)
        size = parse_int(q.get("PageSize"), "PageSize", MAX_PAGE_SIZE)
        if page < 1 or not 1 <= size <= MAX_PAGE_SIZE:
            raise EasApiError(400, "InvalidParameter", "PageNumber >= 1 and 1 <= PageSize <= 100")
        sort = q.get("Sort") or "CreateTime"
        if sort not in SORT_KEYS:
            raise EasApiError(400, "InvalidParameter", f"cannot sort by {sort}")
        labels = parse_json(q.get("Label"), "Label") or {}
        if not isinstance(labels, dict):
            raise EasApiError(400, "InvalidParameter", "Label must be a JSON object")
        return cls(
            page=page,
            size=size,
            sort=sort,
            descending=(q.get("Order") or "desc") == "desc",
            name_contains=q.get("Filter", ""),
            name=q.get("ServiceName", ""),
            status=q.get("ServiceStatus", ""),
            uid=q.get("ServiceUid", ""),
            workspace=q.get("WorkspaceId", ""),
            group=q.get("GroupName", ""),
            resource=q.get("ResourceName", ""),
            labels={str(k): None if v is None else str(v) for k, v in labels.items()},
        )

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    @property
    def filtered(self) -> bool:
        return any(
            (
                self.name_contains,
                self.name,
                self.status,
                self.uid,
                self.workspace,
                self.group,
                self.resource,
                self.labels,
            )
        )

    def matches(self, svc: Service) -> bool:
        meta = svc.config.get("metadata") or {}
        exact = (
            (self.name, svc.name),
            (self.status, svc.status),
            (self.uid, svc.service_id),
            (self.workspace, svc.workspace_id),
            (self.group, meta.get("group", "")),
            (self.resource, meta.get("resource", "")),
        )
        if any(wanted and wanted != actual for wanted, actual in exact):
            return False
        if self.name_contains not in svc.name:
            return False
        for key, value in self.labels.items():
            if key not in svc.labels or (value is not None and svc.labels[key] != value):
                return False
        return True


def created_key(svc: Service) -> tuple[str, ...]:
    """The CreateTime order: the API's CreateTime (to the second), then the name. Unique,
    and fixed for a service's life, so it can key an ordered index."""
    return (rfc3339(svc.created), svc.name, svc.region)


def name_key(svc: Service) -> tuple[str, ...]:
    return (svc.name, svc.region)


def updated_key(svc: Service) -> tuple[str, ...]:
    """The UpdateTime order (to the second, then the name): indexed, moved on each change."""
    return (rfc3339(svc.updated), svc.name, svc.region)


def changing_key(sort: str, svc: Service) -> tuple[str, ...]:
    """Orders by what changes during a service's life (sorted per request, not indexed)."""
    if sort == "UpdateTime":
        return updated_key(svc)
    return (svc.status, svc.name, svc.region)
