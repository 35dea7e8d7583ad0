"""VIAS algorithm services over HTTP: the real paths and bodies (reference/huawei.md §6, seed
004; the Java SDK's ViasMeta). Every route goes through the shared pipeline (faults, the
Huawei gateway's signature or token check, call log); each handler acts for the caller's
account in the URL's project.

  POST /v2/{project_id}/algorithm/{alg_id}/deploy         DeployAlgorithm      200 {alg_name}
  PUT  /v2/{project_id}/algorithm/{alg_id}/deploy/stop    StopDeployAlgorithm  200 {alg_id}
  GET  /v2/{project_id}/algorithm/services/user           ListUserServices
  GET  /v2/{project_id}/algorithm/services/{service_id}   ShowServiceDetail

The literal `user` is registered before `{service_id}`, so it wins (service ids are UUIDs).

Dispatch: a Host naming VIAS (`vias.{region}.…`) gives the region; a Host naming another
Huawei or Alibaba product is that product's, and its gateway answers 404 APIGW.0101; any
other Host (an IP, localhost, a custom name) falls back on the path, in the emulator's
default region. No other module's paths start with `/v2/{project_id}/algorithm/`.

Project: when the credentials name one (`X-Project-Id`, which the SDKs send whenever their
credentials carry a project) and it is not the URL's, the call is refused with 401
VIAS.00010005 [a guess: the docs do not say what VIAS answers; ModelArts answers 403]."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from cloudinfer.emulator.huawei.verifier import HuaweiCaller
from cloudinfer.emulator.pipeline import Pipeline
from cloudinfer.emulator.vias import views
from cloudinfer.emulator.vias.errors import bad_json, project_mismatch, wrong_host
from cloudinfer.emulator.vias.listing import ServiceQuery
from cloudinfer.emulator.vias.store import ViasStore
from cloudinfer.emulator.vias.validation import check_id

_OURS = re.compile(r"^vias\.([a-z0-9-]+)\.", re.IGNORECASE)
_PRODUCT_HOST = re.compile(
    r"^[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:myhuaweicloud\.(?:com|cn)|aliyuncs\.com)$", re.IGNORECASE
)


def host_region(host: str, default: str) -> str:
    """The region a request's Host names, or `default`; APIGW.0101 for another product's."""
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    ours = _OURS.match(name)
    if ours:
        return ours.group(1).lower()
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


class ViasApi:
    def __init__(self, store: ViasStore, default_region: str) -> None:
        self.store, self.default_region = store, default_region

    def routes(self, pipeline: Pipeline[HuaweiCaller]) -> list[web.RouteDef]:
        algorithm = "/v2/{project_id}/algorithm/{alg_id}/deploy"
        services = "/v2/{project_id}/algorithm/services"
        serve = pipeline.route
        return [
            web.post(algorithm, serve("DeployAlgorithm", self.deploy)),
            web.put(algorithm + "/stop", serve("StopDeployAlgorithm", self.stop)),
            web.get(services + "/user", serve("ListUserServices", self.list)),
            web.get(services + "/{service_id}", serve("ShowServiceDetail", self.show)),
        ]

    def _scope(self, request: web.Request, caller: HuaweiCaller) -> tuple[str, str]:
        """(account, project) the request acts in."""
        host_region(request.host, self.default_region)  # the region scopes nothing here
        project = request.match_info["project_id"]
        if caller.project_id is not None and caller.project_id != project:
            raise project_mismatch(project)
        return caller.account, project

    def _algorithm(self, request: web.Request, caller: HuaweiCaller) -> tuple[str, str, str]:
        """(account, project, alg_id) of a request on one algorithm."""
        account, project = self._scope(request, caller)
        return account, project, check_id(request.match_info["alg_id"], "alg_id")

    # -- operations ----------------------------------------------------------------------

    async def deploy(self, request: web.Request, caller: HuaweiCaller) -> dict[str, Any]:
        account, project, alg_id = self._algorithm(request, caller)
        svc = self.store.deploy(account, project, alg_id, await _body(request))
        return {"alg_name": svc.spec.name}

    async def stop(self, request: web.Request, caller: HuaweiCaller) -> dict[str, Any]:
        account, project, alg_id = self._algorithm(request, caller)
        self.store.stop(account, project, alg_id)
        return {"alg_id": alg_id}

    async def show(self, request: web.Request, caller: HuaweiCaller) -> dict[str, Any]:
        account, project = self._scope(request, caller)
        svc = self.store.get(account, project, request.match_info["service_id"])
        return views.detail(svc)

    async def list(self, request: web.Request, caller: HuaweiCaller) -> dict[str, Any]:
        account, project = self._scope(request, caller)
        query = ServiceQuery.from_params(request.query)
        chosen, total = self.store.list_services(account, project, query)
        return {
            "count": len(chosen),
            "total": total,
            "service_list": [views.list_item(svc) for svc in chosen],
        }
