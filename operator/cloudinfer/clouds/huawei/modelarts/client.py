"""Async client for ModelArts real-time services, API v1 (reference/huawei.md §4, seed 003).

    CreateService      POST   /v1/{project_id}/services
    ShowService        GET    /v1/{project_id}/services/{service_id}
    ListServices       GET    /v1/{project_id}/services        offset = page index (from 0)
    UpdateService      PUT    /v1/{project_id}/services/{service_id}
    DeleteService      DELETE /v1/{project_id}/services/{service_id}
    ShowServiceEvents  GET    /v1/{project_id}/services/{service_id}/events

Authentication (clouds/huawei/signer.py): SDK-HMAC-SHA256 with the AK/SK (plus
`X-Security-Token` for temporary keys), or `X-Auth-Token` when the credentials hold an IAM
token. Like the official SDK, every request carries `Content-Type: application/json` and
`X-Project-Id`, and the query goes on the wire exactly as it was signed (sorted, `%20`).

Two rules of the API are kept here rather than left to callers:
  * UpdateService applies only `status` when a body holds both `status` and `config`, so the
    client has one method for each and never sends them together;
  * DeleteService reads a comma-separated `service_id` as a batch, so an id holding a comma
    (or an empty one) is refused before anything is sent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import httpx

from cloudinfer.clouds import errors
from cloudinfer.clouds.huawei.modelarts.models import (
    EventPage,
    ModelArtsService,
    ServicePage,
    service_page,
)
from cloudinfer.clouds.huawei.modelarts_errors import TABLE
from cloudinfer.clouds.huawei.modelarts_errors import classify as _classify
from cloudinfer.clouds.huawei.project_client import ProjectClient
from cloudinfer.clouds.huawei.requests import (
    HuaweiRequest,
    json_body,
    segment,
)
from cloudinfer.clouds.transport import CloudRequest

CLOUD = "huawei-modelarts"
PAGE_SIZE = 1000  # the API's default `limit` (no maximum is documented)
EVENT_PAGE_SIZE = 1000

# ListServices query filters (besides offset, limit, sort_by, order).
LIST_FILTERS = frozenset(
    {
        "service_id",
        "service_name",
        "model_id",
        "workspace_id",
        "infer_type",
        "status",
        "cluster_id",
        "tags",
    }
)
SERVICE_STATES = ("running", "stopped")  # what UpdateService's `status` may ask for

# Endpoints that do not follow the pattern (huaweicloudsdkmodelarts' ModelArtsRegion).
_ENDPOINT_EXCEPTIONS = {
    "ap-southeast-1": "https://modelarts.ap-southeast-1.myhuaweicloud.cn",
}

__all__ = [
    "CLOUD",
    "EVENT_PAGE_SIZE",
    "PAGE_SIZE",
    "TABLE",
    "ModelArtsClient",
    "classify",
    "default_endpoint",
]


def default_endpoint(region: str) -> str:
    return _ENDPOINT_EXCEPTIONS.get(region, f"https://modelarts.{region}.myhuaweicloud.com")


def classify(request: CloudRequest, response: httpx.Response) -> errors.CloudError:
    """A ModelArts error answer → the typed error the reconciler acts on."""
    return _classify(request, response)


def _service_id(service_id: str) -> str:
    """A single service id, safe to put in a path: DeleteService would read a comma as a
    list of services, and an empty id would address the collection."""
    if not isinstance(service_id, str) or not service_id.strip():
        raise ValueError("a service id is required")
    if "," in service_id:
        raise ValueError(f"one service id expected, got a list: {service_id!r}")
    return service_id


class ModelArtsClient(ProjectClient):
    PRODUCT = "ModelArts"
    CLOUD = CLOUD
    default_endpoint = staticmethod(default_endpoint)
    classify = staticmethod(classify)

    def _path(self, service_id: str | None = None, suffix: str = "") -> str:
        base = f"/v1/{segment(self.project_id)}/services"
        if service_id is None:
            return base
        return f"{base}/{segment(_service_id(service_id))}{suffix}"

    async def _call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: Any = None,
        idempotent: bool = False,
    ) -> dict[str, Any]:
        raw = json_body(body) if body is not None else None
        request = HuaweiRequest(operation, method, path, dict(query or {}), raw, idempotent)
        return await self.transport.call(request)

    # -- operations ----------------------------------------------------------------------

    async def create_service(self, body: Mapping[str, Any]) -> str:
        """CreateService; the new service's id. Never retried once it may have been
        committed: after a lost answer the caller looks the service up by its marker."""
        data = await self._call("CreateService", "POST", self._path(), body=dict(body))
        service_id = data.get("service_id")
        if not isinstance(service_id, str) or not service_id:
            raise errors.TransportError(
                "CreateService answered without a service_id",
                cloud=CLOUD,
                operation="CreateService",
                maybe_committed=True,
            )
        return service_id

    async def show_service(self, service_id: str) -> ModelArtsService:
        data = await self._call("ShowService", "GET", self._path(service_id), idempotent=True)
        return ModelArtsService.from_api(data)

    async def list_services(
        self,
        page: int = 0,
        limit: int = PAGE_SIZE,
        *,
        sort_by: str | None = None,
        order: Literal["asc", "desc"] | None = None,
        **filters: str,
    ) -> ServicePage:
        """One page of ListServices. `page` is the API's `offset`: a page index from 0,
        not a record offset. `filters` are the API's (service_name, workspace_id, status,
        ...); empty ones are left out. Without `workspace_id` the API lists only the default
        workspace."""
        if page < 0 or limit < 1:
            raise ValueError(f"page must be >= 0 and limit >= 1 (got {page}, {limit})")
        unknown = set(filters) - LIST_FILTERS
        if unknown:
            raise TypeError(f"unknown ListServices filter(s): {', '.join(sorted(unknown))}")
        query = {"offset": str(page), "limit": str(limit)}
        if sort_by:
            query["sort_by"] = sort_by
        if order:
            query["order"] = order
        query.update({k: v for k, v in filters.items() if v})
        data = await self._call("ListServices", "GET", self._path(), query=query, idempotent=True)
        return service_page(data, page, limit)

    async def list_all_services(
        self, limit: int = PAGE_SIZE, **filters: str
    ) -> tuple[list[ModelArtsService], int]:
        """Every service matching `filters` (oldest first), and how many List calls that
        took. Stops at an empty or short page, once `total_count` services are in hand, or
        when a page brings nothing new (a server that ignores `offset`)."""
        services: dict[str, ModelArtsService] = {}
        page, calls = 0, 0
        while True:
            result = await self.list_services(
                page, limit, sort_by="publish_at", order="asc", **filters
            )
            calls += 1
            fresh = [s for s in result.services if s.service_id not in services]
            services.update((s.service_id, s) for s in fresh)
            if (
                not fresh
                or len(result.services) < limit
                or (result.total_count is not None and len(services) >= result.total_count)
            ):
                return list(services.values()), calls
            page += 1

    async def update_service_config(
        self,
        service_id: str,
        *,
        config: Sequence[Mapping[str, Any]] | None = None,
        description: str | None = None,
        schedule: Sequence[Mapping[str, Any]] | None = None,
        additional_properties: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """UpdateService with the configuration fields given (None: not sent), never with
        `status`: ModelArts would apply only the status. `extra` carries other documented
        fields (load_balancer_policy, priority, ...)."""
        body: dict[str, Any] = dict(extra or {})
        if "status" in body:
            raise ValueError("status is changed with update_service_status, never with config")
        for key, value in (
            ("config", None if config is None else [dict(c) for c in config]),
            ("description", description),
            ("schedule", None if schedule is None else [dict(s) for s in schedule]),
            (
                "additional_properties",
                None if additional_properties is None else dict(additional_properties),
            ),
        ):
            if value is not None:
                body[key] = value
        if not body:
            raise ValueError("nothing to update")
        await self._call("UpdateService", "PUT", self._path(service_id), body=body, idempotent=True)

    async def update_service_status(
        self, service_id: str, status: Literal["running", "stopped"]
    ) -> None:
        """Start (`running`) or stop (`stopped`) the service: UpdateService with only
        `status` in the body."""
        if status not in SERVICE_STATES:
            raise ValueError(f"status must be one of {SERVICE_STATES}, got {status!r}")
        await self._call(
            "UpdateService",
            "PUT",
            self._path(service_id),
            body={"status": status},
            idempotent=True,
        )

    async def start_service(self, service_id: str) -> None:
        await self.update_service_status(service_id, "running")

    async def stop_service(self, service_id: str) -> None:
        await self.update_service_status(service_id, "stopped")

    async def delete_service(self, service_id: str) -> None:
        """DeleteService for one service (deletion is asynchronous: status `deleting`, then
        ShowService answers ModelArts.3502)."""
        await self._call("DeleteService", "DELETE", self._path(service_id), idempotent=True)

    async def show_service_events(
        self,
        service_id: str,
        *,
        page: int = 0,
        limit: int = EVENT_PAGE_SIZE,
        event_type: Literal["normal", "abnormal"] | None = None,
        event_info: str | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
        sort_by: str | None = None,
        order: Literal["asc", "desc"] | None = None,
    ) -> EventPage:
        """One page of ShowServiceEvents (newest first unless `order` says otherwise).
        `page` is a page index from 0, as in ListServices; times are epoch milliseconds."""
        if page < 0 or limit < 1:
            raise ValueError(f"page must be >= 0 and limit >= 1 (got {page}, {limit})")
        query = {"offset": str(page), "limit": str(limit)}
        for key, value in (
            ("event_type", event_type),
            ("event_info", event_info),
            ("start_time", start_time),
            ("end_time", end_time),
            ("sort_by", sort_by),
            ("order", order),
        ):
            if value is not None and value != "":
                query[key] = str(value)
        data = await self._call(
            "ShowServiceEvents",
            "GET",
            self._path(service_id, "/events"),
            query=query,
            idempotent=True,
        )
        return EventPage.from_api(data, page, limit)
