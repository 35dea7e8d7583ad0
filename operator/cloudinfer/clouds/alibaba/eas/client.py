"""Async client for the PAI-EAS API (2021-07-01): the operations of reference §1."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx

from cloudinfer.clouds import errors
from cloudinfer.clouds.alibaba import acs3
from cloudinfer.clouds.alibaba.eas.models import EasService, ServicePage
from cloudinfer.clouds.alibaba.errors import AUTH_CODES, parse_error
from cloudinfer.clouds.errors import ErrorTable
from cloudinfer.clouds.ratelimit import RateLimiter
from cloudinfer.clouds.retry import RetryPolicy
from cloudinfer.clouds.transport import CloudRequest, Transport
from cloudinfer.credentials import Credentials

CLOUD = "alibaba-eas"
API_VERSION = "2021-07-01"
PAGE_SIZE = 100  # the API's maximum

TABLE = ErrorTable(
    not_found=("InvalidService.NotFound",),
    conflict=("ServiceAlreadyExists",),
    busy=("InvalidServiceStatus",),
    throttled=("Throttling*",),
    auth=AUTH_CODES,
    forbidden=("Forbidden*",),
    invalid=("InvalidParameter*", "InvalidVersion", "QuotaExceeded*"),
)


def default_endpoint(region: str) -> str:
    return f"https://pai-eas.{region}.aliyuncs.com"


def classify(request: CloudRequest, response: httpx.Response) -> errors.CloudError:
    """An EAS error answer → the typed error the reconciler acts on."""
    return parse_error(TABLE, response)


def _segment(value: str) -> str:
    return quote(value, safe="~")


class EasClient:
    def __init__(
        self,
        region: str,
        credentials: Credentials,
        endpoint: str | None = None,
        limiter: RateLimiter | None = None,
        policy: RetryPolicy | None = None,
        timeout: float = 30.0,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.region = region
        self._credentials = credentials
        self.transport = Transport(
            CLOUD,
            endpoint or default_endpoint(region),
            self._sign,
            classify,
            limiter or RateLimiter(10, 20),
            policy,
            timeout,
            http,
        )

    async def aclose(self) -> None:
        await self.transport.aclose()

    def set_credentials(self, credentials: Credentials) -> None:
        """Use rotated credentials from the next request on."""
        self._credentials = credentials

    def _sign(self, request: CloudRequest, host: str) -> dict[str, str]:
        return acs3.sign(
            request.method,
            host,
            request.path,
            request.query,
            request.body,
            request.operation,
            self._credentials,
            API_VERSION,
        )

    def _path(self, name: str, suffix: str = "") -> str:
        return f"/api/v2/services/{_segment(self.region)}/{_segment(name)}{suffix}"

    async def _call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        body: Any = None,
        idempotent: bool = False,
    ) -> dict[str, Any]:
        raw = json.dumps(body, separators=(",", ":")).encode() if body is not None else None
        request = CloudRequest(operation, method, path, query or {}, raw, idempotent)
        return await self.transport.call(request)

    # -- operations ----------------------------------------------------------------------

    async def create_service(
        self,
        config: dict[str, Any],
        labels: dict[str, str] | None = None,
        workspace_id: str | None = None,
    ) -> dict[str, Any]:
        """Not retried after it may have been committed: the caller looks the name up."""
        query: dict[str, str] = {}
        if labels:
            query["Labels"] = json.dumps(labels, separators=(",", ":"), sort_keys=True)
        if workspace_id:
            query["WorkspaceId"] = workspace_id
        return await self._call(
            "CreateService", "POST", "/api/v2/services", query=query, body=config
        )

    async def clone_service(
        self, source: str, config: dict[str, Any], labels: dict[str, str] | None = None
    ) -> dict[str, Any]:
        query = (
            {"Labels": json.dumps(labels, separators=(",", ":"), sort_keys=True)} if labels else {}
        )
        return await self._call(
            "CloneService", "POST", self._path(source, "/clone"), query=query, body=config
        )

    async def describe_service(self, name: str) -> EasService:
        data = await self._call("DescribeService", "GET", self._path(name), idempotent=True)
        return EasService.from_api(data)

    async def list_services(
        self,
        page: int = 1,
        page_size: int = PAGE_SIZE,
        sort: str = "CreateTime",
        order: str = "asc",
        **filters: str,
    ) -> ServicePage:
        query = {
            "PageNumber": str(page),
            "PageSize": str(page_size),
            "Sort": sort,
            "Order": order,
            **{k: v for k, v in filters.items() if v},
        }
        data = await self._call(
            "ListServices", "GET", "/api/v2/services", query=query, idempotent=True
        )
        return ServicePage(
            services=[EasService.from_api(s) for s in data.get("Services") or []],
            page_number=int(data.get("PageNumber") or page),
            page_size=int(data.get("PageSize") or page_size),
            total_count=int(data.get("TotalCount") or 0),
        )

    async def list_all_services(
        self, page_size: int = PAGE_SIZE, **filters: str
    ) -> tuple[list[EasService], int]:
        """Every service matching `filters`, and how many List calls that took."""
        services: list[EasService] = []
        page, calls = 1, 0
        while True:
            result = await self.list_services(page, page_size, **filters)
            calls += 1
            services.extend(result.services)
            if not result.services or len(services) >= result.total_count:
                return services, calls
            page += 1

    async def update_service(
        self, name: str, config: dict[str, Any], replace: bool = False
    ) -> None:
        query = {"UpdateType": "replace" if replace else "merge"}
        await self._call(
            "UpdateService", "PUT", self._path(name), query=query, body=config, idempotent=True
        )

    async def update_service_labels(self, name: str, labels: dict[str, str]) -> None:
        """UpdateServiceLabel: add or overwrite these labels, keeping the others."""
        await self._call(
            "UpdateServiceLabel",
            "PUT",
            self._path(name, "/label"),
            body={"Labels": labels},
            idempotent=True,
        )

    async def update_service_version(self, name: str, version: int) -> None:
        await self._call(
            "UpdateServiceVersion",
            "PUT",
            self._path(name, "/version"),
            body={"Version": version},
            idempotent=True,
        )

    async def start_service(self, name: str) -> None:
        await self._call("StartService", "PUT", self._path(name, "/start"), idempotent=True)

    async def stop_service(self, name: str) -> None:
        await self._call("StopService", "PUT", self._path(name, "/stop"), idempotent=True)

    async def delete_service(self, name: str) -> None:
        await self._call("DeleteService", "DELETE", self._path(name), idempotent=True)

    async def describe_service_events(
        self, name: str, event_type: str | None = None, page: int = 1, page_size: int = 100
    ) -> list[dict[str, Any]]:
        query = {"PageNum": str(page), "PageSize": str(page_size)}
        if event_type:
            query["EventType"] = event_type
        data = await self._call(
            "DescribeServiceEvent", "GET", self._path(name, "/events"), query=query, idempotent=True
        )
        return list(data.get("Events") or [])

    async def update_autoscaler(
        self,
        name: str,
        minimum: int,
        maximum: int,
        strategies: list[dict[str, Any]],
        behavior: dict[str, Any] | None = None,
    ) -> None:
        body: dict[str, Any] = {"min": minimum, "max": maximum, "scaleStrategies": strategies}
        if behavior:
            body["behavior"] = behavior
        await self._call(
            "UpdateServiceAutoScaler",
            "PUT",
            self._path(name, "/autoscaler"),
            body=body,
            idempotent=True,
        )
