"""Async client for VIAS (Video Intelligent Analysis Service) algorithm services
(reference/huawei.md §6, cloud-apis.md §4, seed 004). There is no Python SDK; the paths are
those of the Java SDK's ViasMeta, host `vias.{region}.myhuaweicloud.com`:

    DeployAlgorithm      POST /v2/{project_id}/algorithm/{alg_id}/deploy        {alg_name}
    StopDeployAlgorithm  PUT  /v2/{project_id}/algorithm/{alg_id}/deploy/stop   {alg_id}
    ShowServiceDetail    GET  /v2/{project_id}/algorithm/services/{service_id}
    ListUserServices     GET  /v2/{project_id}/algorithm/services/user          page_num =
                                                                                page index

Deploy and stop name the algorithm, Show the service; there is no delete (a stopped
service stays listed). Errors: vias_errors.py (a missing object is a 400 there).

Authentication (clouds/huawei/signer.py), as the other Huawei clients: SDK-HMAC-SHA256 with
the AK/SK (plus `X-Security-Token` for temporary keys), or `X-Auth-Token` when the
credentials hold an IAM token. Like the official core, every request carries `Content-Type:
application/json` and `X-Project-Id`, and the query goes on the wire exactly as it was signed
(sorted, `%20`); `alg_status`, an array, is sent as repeated keys (`alg_status=a&alg_status=b`),
the "multi" format the core forces on every list parameter.

Rules of the API kept here rather than left to callers:
  * the project id is part of every path, so a client without one is refused at once;
  * `stream_count` is 1-10000; ListUserServices' `page_size` is 5-200 and `page_num`
    1-10000, always with `is_paged=true` (the API's default is false: no paging);
    `alg_status` values are the nine documented ones;
  * DeployAlgorithm is never repeated once it may have been committed;
  * `list_all_services` is authoritative: it raises rather than return a listing that may
    have skipped a service (see there)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import httpx

from cloudinfer.clouds import errors
from cloudinfer.clouds.huawei.project_client import ProjectClient
from cloudinfer.clouds.huawei.requests import (
    HuaweiRequest,
    json_body,
    segment,
)
from cloudinfer.clouds.huawei.vias.models import (
    ALG_STATUSES,
    ServiceDetail,
    ServicePage,
    ServiceSummary,
)
from cloudinfer.clouds.huawei.vias_errors import TABLE
from cloudinfer.clouds.huawei.vias_errors import classify as _classify
from cloudinfer.clouds.transport import CloudRequest

CLOUD = "huawei-vias"
PAGE_SIZE = 200  # ListUserServices' largest `page_size`
MIN_PAGE_SIZE = 5  # ... and its smallest
MAX_PAGE_NUM = 10_000
MAX_STREAM_COUNT = 10_000  # DeployServiceReq's `stream_count` is 1-10000
# Full listings retried from scratch before ListingInconsistent is raised.
LIST_PASSES = 3

ORDERS = ("asc", "desc")  # `order_by` (default desc)
SORT_NAMES = ("created_at", "function_version")  # `sort_name` (default created_at)

__all__ = [
    "CLOUD",
    "LIST_PASSES",
    "PAGE_SIZE",
    "TABLE",
    "ListingInconsistent",
    "ViasClient",
    "classify",
    "default_endpoint",
]


def default_endpoint(region: str) -> str:
    """The Java SDK's ViasRegion: cn-north-4, cn-east-3, cn-south-1, ap-southeast-1/3/4."""
    return f"https://vias.{region}.myhuaweicloud.com"


def classify(request: CloudRequest, response: httpx.Response) -> errors.CloudError:
    """A VIAS error answer → the typed error the reconciler acts on."""
    return _classify(request, response)


class ListingInconsistent(errors.ServerError):
    """ListUserServices' pages contradicted each other (or `total`) on every attempt: no
    complete listing could be assembled. Transient: the listing is tried again later."""


def _id(kind: str, value: str) -> str:
    """An id to put in a path: an empty one would address another resource (or none)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{kind} id is required")
    return segment(value)


def _in_range(name: str, value: int, low: int, high: int) -> None:
    """An integer parameter within the API's bounds (a bool is not a number here)."""
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}] (got {value!r})")


def _statuses(alg_status: Sequence[str]) -> tuple[str, ...]:
    """The `alg_status` filter, checked against the documented values; a single string is
    one status (not its letters), repeats are dropped."""
    wanted = (alg_status,) if isinstance(alg_status, str) else tuple(alg_status)
    unknown = [s for s in wanted if s not in ALG_STATUSES]
    if unknown:
        raise ValueError(
            f"unknown alg_status value(s) {unknown}: expected some of {', '.join(ALG_STATUSES)}"
        )
    return tuple(dict.fromkeys(wanted))


class ViasClient(ProjectClient):
    PRODUCT = "VIAS"
    CLOUD = CLOUD
    default_endpoint = staticmethod(default_endpoint)
    classify = staticmethod(classify)

    def _path(self, rest: str) -> str:
        return f"/v2/{segment(self.project_id)}/algorithm/{rest}"

    async def _call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        repeated: Mapping[str, tuple[str, ...]] | None = None,
        body: Any = None,
        idempotent: bool = False,
    ) -> dict[str, Any]:
        raw = json_body(body) if body is not None else None
        request = HuaweiRequest(
            operation, method, path, dict(query or {}), raw, idempotent, dict(repeated or {})
        )
        return await self.transport.call(request)

    # -- operations ----------------------------------------------------------------------

    async def deploy(
        self,
        alg_id: str,
        *,
        stream_count: int,
        pool_id: str | None = None,
        deploy_config: Mapping[str, Any] | None = None,
        envs: Mapping[str, str] | None = None,
    ) -> str:
        """DeployAlgorithm (body DeployServiceReq: `pool_id`, needed while the algorithm is
        not_deployed; `stream_count` 1-10000; `deploy_config`, the algorithm's startup
        parameters; `envs`); fields given as None are not sent. The algorithm's name, ""
        when the answer holds none.

        Not idempotent (a repeat could deploy again, or be refused for the state the first
        one left), so never retried once it may have been committed: after a lost answer
        the caller reads the service's state instead. Only a request that never connected
        is sent again."""
        _in_range("stream_count", stream_count, 1, MAX_STREAM_COUNT)
        if envs is not None and not all(
            isinstance(k, str) and isinstance(v, str) for k, v in envs.items()
        ):
            raise TypeError(
                "envs maps names to string values (DeployServiceReq: Map<String,String>)"
            )
        body: dict[str, Any] = {}
        if pool_id is not None:
            body["pool_id"] = pool_id
        body["stream_count"] = stream_count
        if deploy_config is not None:
            body["deploy_config"] = dict(deploy_config)
        if envs is not None:
            body["envs"] = dict(envs)
        data = await self._call(
            "DeployAlgorithm",
            "POST",
            self._path(f"{_id('an algorithm', alg_id)}/deploy"),
            body=body,
        )
        name = data.get("alg_name")
        return name if isinstance(name, str) else ""

    async def stop(self, alg_id: str) -> None:
        """StopDeployAlgorithm (no body): the service goes service_stopping, then
        service_stopped. Idempotent: a repeat asks for nothing the first did not."""
        await self._call(
            "StopDeployAlgorithm",
            "PUT",
            self._path(f"{_id('an algorithm', alg_id)}/deploy/stop"),
            idempotent=True,
        )

    async def show_service(self, service_id: str) -> ServiceDetail:
        """ShowServiceDetail. A service that does not exist is `NotFound` (VIAS.00010002,
        answered with HTTP 400)."""
        data = await self._call(
            "ShowServiceDetail",
            "GET",
            self._path(f"services/{_id('a service', service_id)}"),
            idempotent=True,
        )
        return ServiceDetail.from_api(data)

    async def list_services(
        self,
        *,
        page_num: int = 1,
        page_size: int = PAGE_SIZE,
        alg_status: Sequence[str] = (),
        name_like: str | None = None,
        order_by: Literal["asc", "desc"] | None = None,
        sort_name: Literal["created_at", "function_version"] | None = None,
    ) -> ServicePage:
        """One page of ListUserServices. `page_num` is a page index from 1 (1-10000),
        `page_size` 5-200; `is_paged=true` is always sent (the API's default is unpaged).
        `alg_status` filters on any of the statuses given (sent as repeated keys); an empty
        `name_like` is not sent. Unset `order_by` and `sort_name` leave the API's defaults
        (desc, created_at)."""
        _in_range("page_num", page_num, 1, MAX_PAGE_NUM)
        _in_range("page_size", page_size, MIN_PAGE_SIZE, PAGE_SIZE)
        if order_by is not None and order_by not in ORDERS:
            raise ValueError(f"order_by must be one of {ORDERS} (got {order_by!r})")
        if sort_name is not None and sort_name not in SORT_NAMES:
            raise ValueError(f"sort_name must be one of {SORT_NAMES} (got {sort_name!r})")
        statuses = _statuses(alg_status)
        query = {"is_paged": "true", "page_num": str(page_num), "page_size": str(page_size)}
        if name_like:
            query["name_like"] = name_like
        if order_by:
            query["order_by"] = order_by
        if sort_name:
            query["sort_name"] = sort_name
        data = await self._call(
            "ListUserServices",
            "GET",
            self._path("services/user"),
            query=query,
            repeated={"alg_status": statuses} if statuses else None,
            idempotent=True,
        )
        return ServicePage.from_api(data, page_num, page_size)

    async def list_all_services(
        self, *, alg_status: Sequence[str] = (), name_like: str | None = None
    ) -> tuple[list[ServiceSummary], int]:
        """Every service (with any of `alg_status`, named like `name_like`), oldest first,
        and how many List calls that took. Authoritative: a service that existed throughout
        the listing is in it, or `ListingInconsistent` is raised (after LIST_PASSES
        attempts).

        Why reading pages in turn is enough: VIAS never deletes a service (an undeployed
        or stopped algorithm stays listed, as not_deployed or service_stopped), so in
        created_at ascending order a new service can only be added at the end; a record
        once read never moves, and no page can skip one. Two services created in the same
        millisecond may swap places between calls; that shows up as one read twice (kept
        once) and, the other missed, as fewer services than `total`. So a pass starts
        anew on: an answer without `total`, a short page before `total` is reached, or a
        count of distinct services that differs from `total` at the end (fewer: one was
        skipped; more: one vanished, which the reasoning above rules out, so nothing can
        be vouched for).

        `alg_status` is applied here, not sent: a status changes under the listing
        (deploying → running), so a filtered listing loses members mid-read and shifts
        the rest up a page, skipping some unseen. `name_like` is sent: a service's name (its
        algorithm's) is taken not to change."""
        statuses = frozenset(_statuses(alg_status))
        calls = 0
        problem = ""
        for _ in range(LIST_PASSES):
            services, made, problem = await self._list_pass(name_like)
            calls += made
            if services is not None:
                if statuses:
                    services = [s for s in services if s.alg_status in statuses]
                return services, calls
        raise ListingInconsistent(
            f"no consistent listing in {LIST_PASSES} attempts ({calls} calls): {problem}",
            cloud=CLOUD,
            operation="ListUserServices",
        )

    async def _list_pass(
        self, name_like: str | None
    ) -> tuple[list[ServiceSummary] | None, int, str]:
        """One full read, oldest first: (the services or None, calls made, what went wrong)."""
        held: dict[str, ServiceSummary] = {}
        calls = 0
        for page_num in range(1, MAX_PAGE_NUM + 1):
            page = await self.list_services(
                page_num=page_num,
                page_size=PAGE_SIZE,
                name_like=name_like,
                order_by="asc",
                sort_name="created_at",
            )
            calls += 1
            total, items = page.total, page.services
            if total is None:
                return None, calls, "an answer without total"
            for item in items:
                held[item.service_id] = item  # a record read twice keeps its first place
            if (page_num - 1) * PAGE_SIZE + len(items) >= total:
                if len(held) != total:
                    return None, calls, f"{len(held)} services read, total says {total}"
                return list(held.values()), calls, ""
            if len(items) < PAGE_SIZE:
                return (
                    None,
                    calls,
                    f"a short page ({len(items)}) at page {page_num}, total says {total}",
                )
        return None, calls, f"more than {MAX_PAGE_NUM} pages of {PAGE_SIZE}"
