"""DataArts Fabric over HTTP: the real paths and bodies of the two SDKs
(reference/huawei.md §5; `huaweicloudsdkdataartsfabricep` for service instances,
`huaweicloudsdkdataartsfabric` for endpoints). Every route goes through the shared pipeline
(faults, the Huawei gateway's signature or token check, call log); each handler acts for the
caller's account in the URL's workspace. `X-Project-Id`, which the SDK sends whenever its
credentials carry a project, scopes nothing here (the paths have no project).

  POST   /v1/workspaces/{ws}/services/instances                DeployServiceInstance  200 {id}
  GET    /v1/workspaces/{ws}/services/instances                ListServicesInstances
  GET    /v1/workspaces/{ws}/services/instances/{instance_id}  ShowServiceInstanceDetail
  PUT    /v1/workspaces/{ws}/services/instances/{instance_id}  UpdateServiceInstance  202 {id}
  DELETE /v1/workspaces/{ws}/services/instances/{instance_id}  DeleteServiceInstance  202
  GET    /v1/workspaces/{ws}/endpoints/{endpoint_id}           ShowEndpoint
  GET    /v1/workspaces/{ws}/endpoints                         ListEndpoints

Dispatch: instances live on `fabric-ep.{region}.…`, endpoints on `fabric.{region}.…`; such a
Host gives the region. A Host naming another Huawei or Alibaba product (the other Fabric
host included) is that product's, and its gateway answers 404 APIGW.0101; any other Host (an
IP, localhost, a custom name) falls back on the path, in the emulator's default region. The
two path sets do not overlap, and no other module's paths start with `/v1/workspaces/`."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from cloudinfer.emulator.fabric import views
from cloudinfer.emulator.fabric.errors import bad_json, invalid, wrong_host
from cloudinfer.emulator.fabric.listing import EndpointQuery, InstanceQuery
from cloudinfer.emulator.fabric.store import FabricStore
from cloudinfer.emulator.fabric.validation import check_id
from cloudinfer.emulator.huawei.verifier import HuaweiCaller
from cloudinfer.emulator.pipeline import Pipeline, Reply

INSTANCES_HOST = re.compile(r"^fabric-ep\.([a-z0-9-]+)\.", re.IGNORECASE)
ENDPOINTS_HOST = re.compile(r"^fabric\.([a-z0-9-]+)\.", re.IGNORECASE)
_PRODUCT_HOST = re.compile(
    r"^[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:myhuaweicloud\.(?:com|cn)|aliyuncs\.com)$", re.IGNORECASE
)
ENDPOINT_VERSIONS = ("CURRENT", "PREVIOUS")


def host_region(host: str, ours: re.Pattern[str], default: str) -> str:
    """The region a request's Host names, or `default`; APIGW.0101 for another product's."""
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    match = ours.match(name)
    if match:
        return match.group(1).lower()
    if _PRODUCT_HOST.match(name):
        raise wrong_host()
    return default


async def _body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise bad_json() from exc


class FabricApi:
    def __init__(self, store: FabricStore, default_region: str) -> None:
        self.store, self.default_region = store, default_region

    def routes(self, pipeline: Pipeline[HuaweiCaller]) -> list[web.RouteDef]:
        instances = "/v1/workspaces/{workspace_id}/services/instances"
        instance = instances + "/{instance_id}"
        endpoints = "/v1/workspaces/{workspace_id}/endpoints"
        serve = pipeline.route
        return [
            web.post(instances, serve("DeployServiceInstance", self.deploy)),
            web.get(instances, serve("ListServicesInstances", self.list)),
            web.get(instance, serve("ShowServiceInstanceDetail", self.show)),
            web.put(instance, serve("UpdateServiceInstance", self.update)),
            web.delete(instance, serve("DeleteServiceInstance", self.delete)),
            web.get(endpoints + "/{endpoint_id}", serve("ShowEndpoint", self.show_endpoint)),
            web.get(endpoints, serve("ListEndpoints", self.list_endpoints)),
        ]

    def _scope(
        self, request: web.Request, caller: HuaweiCaller, host: re.Pattern[str]
    ) -> tuple[str, str, str]:
        """(account, workspace, region) the request acts in."""
        region = host_region(request.host, host, self.default_region)
        workspace = check_id(request.match_info["workspace_id"], "workspace_id")
        return caller.account, workspace, region

    def _instance(self, request: web.Request, caller: HuaweiCaller) -> tuple[str, str, str]:
        """(account, workspace, instance id) of a request on one instance."""
        account, workspace, _ = self._scope(request, caller, INSTANCES_HOST)
        return account, workspace, check_id(request.match_info["instance_id"], "instance_id")

    # -- service instances (fabric-ep) ---------------------------------------------------

    async def deploy(self, request: web.Request, caller: HuaweiCaller) -> dict[str, Any]:
        account, workspace, region = self._scope(request, caller, INSTANCES_HOST)
        inst = self.store.deploy(account, workspace, region, await _body(request))
        return {"id": inst.instance_id}

    async def list(self, request: web.Request, caller: HuaweiCaller) -> dict[str, Any]:
        account, workspace, _ = self._scope(request, caller, INSTANCES_HOST)
        query = InstanceQuery.from_params(request.query)
        page, total = self.store.list_instances(account, workspace, query)
        now = self.store.clock()
        return {"total": total, "service_instances": [views.brief(i, now) for i in page]}

    async def show(self, request: web.Request, caller: HuaweiCaller) -> dict[str, Any]:
        inst = self.store.get(*self._instance(request, caller))
        return views.detail(inst, self.store.clock())

    async def update(self, request: web.Request, caller: HuaweiCaller) -> Reply:
        account, workspace, instance_id = self._instance(request, caller)
        inst = self.store.update(account, workspace, instance_id, await _body(request))
        return Reply({"id": inst.instance_id}, status=202)

    async def delete(self, request: web.Request, caller: HuaweiCaller) -> Reply:
        self.store.delete(*self._instance(request, caller))
        return Reply(None, status=202)

    # -- endpoints (fabric) --------------------------------------------------------------

    async def show_endpoint(self, request: web.Request, caller: HuaweiCaller) -> dict[str, Any]:
        account, workspace, _ = self._scope(request, caller, ENDPOINTS_HOST)
        endpoint_id = check_id(request.match_info["endpoint_id"], "endpoint_id")
        version = request.query.get("version", "")
        if version and version not in ENDPOINT_VERSIONS:
            raise invalid("Invalid parameter [version]: it must be CURRENT or PREVIOUS.")
        # The emulator keeps no endpoint history: PREVIOUS is the current version too.
        return views.endpoint(self.store.endpoint(account, workspace, endpoint_id))

    async def list_endpoints(self, request: web.Request, caller: HuaweiCaller) -> dict[str, Any]:
        account, workspace, _ = self._scope(request, caller, ENDPOINTS_HOST)
        query = EndpointQuery.from_params(request.query)
        page, total = self.store.list_endpoints(account, workspace, query)
        return {"total": total, "endpoints": [views.endpoint_brief(ep) for ep in page]}
