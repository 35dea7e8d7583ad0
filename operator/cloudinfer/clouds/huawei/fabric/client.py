"""Async client for DataArts Fabric service instances and inference endpoints
(reference/huawei.md §5, seed 001).

Service instances, host `fabric-ep.{region}.myhuaweicloud.com` (huaweicloudsdkdataartsfabricep):
    DeployServiceInstance      POST   /v1/workspaces/{ws}/services/instances        200 {id}
    ListServicesInstances      GET    /v1/workspaces/{ws}/services/instances        offset =
                                                                                    record offset
    ShowServiceInstanceDetail  GET    /v1/workspaces/{ws}/services/instances/{id}
    UpdateServiceInstance      PUT    /v1/workspaces/{ws}/services/instances/{id}   202 {id}
    DeleteServiceInstance      DELETE /v1/workspaces/{ws}/services/instances/{id}   202, async
Endpoints, host `fabric.{region}.myhuaweicloud.com` (huaweicloudsdkdataartsfabric):
    ShowEndpoint               GET    /v1/workspaces/{ws}/endpoints/{endpoint_id}
    ListEndpoints              GET    /v1/workspaces/{ws}/endpoints

The two path sets do not overlap, so an `endpoint` given (the emulator) serves both.

Authentication (clouds/huawei/signer.py), as the ModelArts client: SDK-HMAC-SHA256 with the
AK/SK (plus `X-Security-Token` for temporary keys), or `X-Auth-Token` when the credentials
hold an IAM token. Like the official SDK, every request carries `Content-Type:
application/json`, and `X-Project-Id` whenever a project id is configured (Fabric's paths
hold none; the SDK sends it all the same). The query goes on the wire exactly as signed.

Rules of the API kept here rather than left to callers:
  * UpdateServiceInstance's `resource` (the SDK's BaseDemand) needs both `min` and `max`
    (the Go SDK marshals both unconditionally), and carries no `spec_code`; `min` cannot
    actually change (the API doc), so callers pass the current one along with a new `max`;
  * ListServicesInstances' `offset` is a record offset and `limit` is 1-100;
  * `list_all_instances` is authoritative: it raises rather than return a listing that may
    have skipped an instance (see there)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import httpx

from cloudinfer.clouds import errors
from cloudinfer.clouds.huawei.fabric.models import (
    EndpointPage,
    FabricEndpoint,
    InstancePage,
    ServiceInstance,
)
from cloudinfer.clouds.huawei.fabric_errors import TABLE
from cloudinfer.clouds.huawei.fabric_errors import classify as _classify
from cloudinfer.clouds.huawei.requests import (
    HuaweiRequest,
    RequestSigner,
    json_body,
    segment,
)
from cloudinfer.clouds.ratelimit import RateLimiter
from cloudinfer.clouds.retry import RetryPolicy
from cloudinfer.clouds.transport import CloudRequest, Transport
from cloudinfer.credentials import Credentials

CLOUD = "huawei-fabric"
PAGE_SIZE = 100  # ListServicesInstances' largest `limit`
MAX_PAGE_SIZE = 100
MAX_OFFSET = 1_000_000_000
ENDPOINT_PAGE_SIZE = 100
# Full listings retried from scratch before ListingInconsistent is raised.
LIST_PASSES = 3

# ListServicesInstances query filters (besides offset, limit, sort_by, order_by).
LIST_FILTERS = frozenset(
    {"id", "name", "endpoint_id", "source_id", "version_id", "type", "visibility"}
)
# ListEndpoints query filters (besides offset, limit).
ENDPOINT_FILTERS = frozenset({"model_id", "name", "endpoint_id", "type", "visibility"})

__all__ = [
    "CLOUD",
    "PAGE_SIZE",
    "TABLE",
    "FabricClient",
    "ListingInconsistent",
    "classify",
    "default_endpoint",
    "endpoints_endpoint",
    "instances_endpoint",
]


def instances_endpoint(region: str) -> str:
    """Where service instances live (the SDK's DataArtsFabricEpRegion)."""
    return f"https://fabric-ep.{region}.myhuaweicloud.com"


def endpoints_endpoint(region: str) -> str:
    """Where workspaces and endpoints live (the SDK's DataArtsFabricRegion)."""
    return f"https://fabric.{region}.myhuaweicloud.com"


def default_endpoint(region: str) -> str:
    """The endpoint a provider config names by default: the instances' host. (Only an
    endpoint given to FabricClient, the emulator's, serves the endpoints' paths too.)"""
    return instances_endpoint(region)


def classify(request: CloudRequest, response: httpx.Response) -> errors.CloudError:
    """A DataArts Fabric error answer → the typed error the reconciler acts on."""
    return _classify(request, response)


class ListingInconsistent(errors.ServerError):
    """ListServicesInstances' pages contradicted each other (or `total`) on every attempt:
    no complete listing could be assembled. Transient: the listing is tried again later."""


def _id(kind: str, value: str) -> str:
    """An id to put in a path: an empty one would address the collection."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"a {kind} id is required")
    return segment(value)


def _page_bounds(offset: int, limit: int, largest: int) -> None:
    if not 0 <= offset <= MAX_OFFSET or not 1 <= limit <= largest:
        raise ValueError(
            f"offset must be in [0, {MAX_OFFSET}] and limit in [1, {largest}] "
            f"(got {offset}, {limit})"
        )


def _filters(given: Mapping[str, str | None], allowed: frozenset[str], api: str) -> dict[str, str]:
    unknown = set(given) - allowed
    if unknown:
        raise TypeError(f"unknown {api} filter(s): {', '.join(sorted(unknown))}")
    return {k: v for k, v in given.items() if v}


class FabricClient:
    def __init__(
        self,
        region: str,
        project_id: str | None,
        credentials: Credentials,
        endpoint: str | None = None,
        limiter: RateLimiter | None = None,
        policy: RetryPolicy | None = None,
        timeout: float = 30.0,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        """`project_id` is sent as `X-Project-Id` (None or empty: not sent; Fabric's paths
        name workspaces, not projects). One rate limiter and one HTTP client serve both
        hosts: they are one account."""
        self.region = region
        self.project_id = project_id or None
        self._sign = RequestSigner(credentials, self.project_id)
        limiter = limiter or RateLimiter(10, 20)
        self._http = http or httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        self.instances = Transport(
            CLOUD,
            endpoint or instances_endpoint(region),
            self._sign,
            classify,
            limiter,
            policy,
            timeout,
            self._http,
        )
        self.endpoints = Transport(
            CLOUD,
            endpoint or endpoints_endpoint(region),
            self._sign,
            classify,
            limiter,
            policy,
            timeout,
            self._http,
        )

    def __repr__(self) -> str:
        return (
            f"FabricClient(region={self.region!r}, project_id={self.project_id!r}, "
            f"instances={self.instances.base_url!r}, endpoints={self.endpoints.base_url!r}, "
            f"auth={self._sign.credentials.kind!r})"
        )

    async def aclose(self) -> None:
        await self._http.aclose()  # shared by both transports

    def set_credentials(self, credentials: Credentials) -> None:
        """Use rotated credentials from the next request on."""
        self._sign.rotate(credentials)

    @staticmethod
    def _instances_path(workspace_id: str, instance_id: str | None = None) -> str:
        base = f"/v1/workspaces/{_id('workspace', workspace_id)}/services/instances"
        return base if instance_id is None else f"{base}/{_id('service instance', instance_id)}"

    @staticmethod
    def _endpoints_path(workspace_id: str, endpoint_id: str | None = None) -> str:
        base = f"/v1/workspaces/{_id('workspace', workspace_id)}/endpoints"
        return base if endpoint_id is None else f"{base}/{_id('endpoint', endpoint_id)}"

    @staticmethod
    async def _call(
        transport: Transport,
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
        return await transport.call(request)

    # -- service instances ---------------------------------------------------------------

    async def deploy_instance(self, workspace_id: str, body: Mapping[str, Any]) -> str:
        """DeployServiceInstance (body: ServiceInstanceInput: `source{id, version_id}`,
        `name`, `description`, `endpoint_id`, `config{model_instance_config{resource{min,
        max, spec_code}}}`); the new instance's id. Never retried once it may have been
        committed: after a lost answer the caller looks the instance up instead."""
        data = await self._call(
            self.instances,
            "DeployServiceInstance",
            "POST",
            self._instances_path(workspace_id),
            body=dict(body),
        )
        instance_id = data.get("id")
        if not isinstance(instance_id, str) or not instance_id:
            raise errors.TransportError(
                "DeployServiceInstance answered without an id",
                cloud=CLOUD,
                operation="DeployServiceInstance",
                maybe_committed=True,
            )
        return instance_id

    async def show_instance(self, workspace_id: str, instance_id: str) -> ServiceInstance:
        data = await self._call(
            self.instances,
            "ShowServiceInstanceDetail",
            "GET",
            self._instances_path(workspace_id, instance_id),
            idempotent=True,
        )
        return ServiceInstance.from_api(data)

    async def list_instances(
        self,
        workspace_id: str,
        *,
        offset: int = 0,
        limit: int = PAGE_SIZE,
        sort_by: Literal["CREATE_TIME", "DURATION"] | None = None,
        order_by: Literal["ASC", "DESC"] | None = None,
        **filters: str | None,
    ) -> InstancePage:
        """One page of ListServicesInstances. `offset` is a record offset (not a page
        index); `limit` is 1-100. `filters` are the API's (id, name, endpoint_id, source_id,
        version_id, type, visibility); empty ones are left out."""
        _page_bounds(offset, limit, MAX_PAGE_SIZE)
        query = {"offset": str(offset), "limit": str(limit)}
        if sort_by:
            query["sort_by"] = sort_by
        if order_by:
            query["order_by"] = order_by
        query.update(_filters(filters, LIST_FILTERS, "ListServicesInstances"))
        data = await self._call(
            self.instances,
            "ListServicesInstances",
            "GET",
            self._instances_path(workspace_id),
            query=query,
            idempotent=True,
        )
        return InstancePage.from_api(data, offset, limit)

    async def list_all_instances(
        self, workspace_id: str, *, limit: int = PAGE_SIZE, **filters: str | None
    ) -> tuple[list[ServiceInstance], int]:
        """Every instance matching `filters`, oldest first, and how many List calls that
        took. Authoritative: an instance that existed throughout the listing is in it, or
        `ListingInconsistent` is raised (after LIST_PASSES attempts). Instances deleted while
        the listing ran may still be in it, as if it had been taken a little earlier.

        Pages are read oldest first (CREATE_TIME, ASC), so a new instance only adds at the
        end; each page starts on the last record already read. When that record is not
        where it was (instances before it were deleted and the rest moved up), the read
        steps back until a page starts on a record already read: nothing in between can
        have been skipped. A page whose records contradict this order, a short page before
        `total`, a missing `total`, or fewer instances than `total` start a pass anew."""
        if not 2 <= limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be in [2, {MAX_PAGE_SIZE}] (got {limit})")
        _filters(filters, LIST_FILTERS, "ListServicesInstances")  # refuse typos up front
        calls = 0
        problem = ""
        for _ in range(LIST_PASSES):
            instances, made, problem = await self._list_pass(workspace_id, limit, filters)
            calls += made
            if instances is not None:
                return instances, calls
        raise ListingInconsistent(
            f"no consistent listing in {LIST_PASSES} attempts ({calls} calls): {problem}",
            cloud=CLOUD,
            operation="ListServicesInstances",
        )

    async def _list_pass(
        self, workspace_id: str, limit: int, filters: Mapping[str, str | None]
    ) -> tuple[list[ServiceInstance] | None, int, str]:
        """One full read: (the instances or None, calls made, what went wrong)."""
        held: dict[str, ServiceInstance] = {}
        offset, back, calls = 0, limit - 1, 0
        while True:
            page = await self.list_instances(
                workspace_id,
                offset=offset,
                limit=limit,
                sort_by="CREATE_TIME",
                order_by="ASC",
                **filters,
            )
            calls += 1
            total, items = page.total, page.instances
            if total is None:
                return None, calls, "an answer without total"
            if calls > 8 + 3 * (max(total, len(held)) // (limit - 1) + 1):
                return None, calls, "too many pages for the total"
            if offset > 0 and (not items or items[0].id not in held):
                # Records before `offset` went away (or `offset` is past the end now): a
                # record not yet read may sit before it. Step back to one already read.
                offset, back = max(0, offset - back), back * 2
                continue
            fresh = False
            for item in items:
                if item.id in held and fresh:
                    return None, calls, f"{item.id} listed again after newer instances"
                fresh = fresh or item.id not in held
                held[item.id] = item
            end = offset + len(items)
            if end >= total:
                if len(held) < total:
                    return None, calls, f"{len(held)} instances read, total says {total}"
                return list(held.values()), calls, ""
            if len(items) < limit:
                return None, calls, f"a short page at offset {offset}, total says {total}"
            offset, back = end - 1, limit - 1  # the next page starts on this page's last

    async def update_instance(
        self,
        workspace_id: str,
        instance_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        resource_max: int | None = None,
        resource_min: int | None = None,
        source: Mapping[str, Any] | None = None,
    ) -> None:
        """UpdateServiceInstance (202, asynchronous: the instance goes UPDATING) with the
        fields given (None: not sent). `resource_min` and `resource_max` go together (the
        API's BaseDemand needs both; `min` itself cannot change, so pass the current one).
        `source` is `{id, version_id}` (the version cannot change either)."""
        body: dict[str, Any] = {}
        if source is not None:
            body["source"] = dict(source)
        if name is not None:
            body["name"] = name
        if description is not None:
            body["description"] = description
        if (resource_min is None) != (resource_max is None):
            raise ValueError("resource_min and resource_max are sent together")
        if resource_min is not None and resource_max is not None:
            resource = {"min": resource_min, "max": resource_max}
            body["config"] = {"model_instance_config": {"resource": resource}}
        if not body:
            raise ValueError("nothing to update")
        await self._call(
            self.instances,
            "UpdateServiceInstance",
            "PUT",
            self._instances_path(workspace_id, instance_id),
            body=body,
            idempotent=True,
        )

    async def delete_instance(self, workspace_id: str, instance_id: str) -> None:
        """DeleteServiceInstance (202, asynchronous: DELETING, then Show answers 404)."""
        await self._call(
            self.instances,
            "DeleteServiceInstance",
            "DELETE",
            self._instances_path(workspace_id, instance_id),
            idempotent=True,
        )

    # -- endpoints -----------------------------------------------------------------------

    async def show_endpoint(
        self,
        workspace_id: str,
        endpoint_id: str,
        *,
        version: Literal["CURRENT", "PREVIOUS"] | None = None,
    ) -> FabricEndpoint:
        """ShowEndpoint: for an inference endpoint, its capacity (`mu_max`)."""
        query = {"version": version} if version else None
        data = await self._call(
            self.endpoints,
            "ShowEndpoint",
            "GET",
            self._endpoints_path(workspace_id, endpoint_id),
            query=query,
            idempotent=True,
        )
        return FabricEndpoint.from_api(data)

    async def list_endpoints(
        self,
        workspace_id: str,
        *,
        offset: int = 0,
        limit: int = ENDPOINT_PAGE_SIZE,
        **filters: str | None,
    ) -> EndpointPage:
        """One page of ListEndpoints (`offset` a record offset). `filters`: model_id, name,
        endpoint_id, type, visibility."""
        _page_bounds(offset, limit, ENDPOINT_PAGE_SIZE)
        query = {"offset": str(offset), "limit": str(limit)}
        query.update(_filters(filters, ENDPOINT_FILTERS, "ListEndpoints"))
        data = await self._call(
            self.endpoints,
            "ListEndpoints",
            "GET",
            self._endpoints_path(workspace_id),
            query=query,
            idempotent=True,
        )
        return EndpointPage.from_api(data, offset, limit)
