"""ModelArts v1 real-time services over HTTP: the real paths and bodies (reference/huawei.md
§4.2, seed 003). Every route goes through the shared pipeline (faults, the Huawei gateway's
signature or token check, call log); each handler acts for the caller's account in the
URL's project.

Dispatch: a Host naming ModelArts (`modelarts.{region}.…`) gives the region; a Host naming
another Huawei or Alibaba product is that product's, and its gateway answers 404
APIGW.0101; any other Host (an IP, localhost, a custom name) falls back on the path, in the
emulator's default region. The paths `/v1/{project_id}/services…` collide with no other
module's."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from cloudinfer.emulator.huawei.verifier import HuaweiCaller
from cloudinfer.emulator.modelarts import views
from cloudinfer.emulator.modelarts.errors import invalid, project_mismatch, wrong_host
from cloudinfer.emulator.modelarts.listing import EventQuery, ServiceQuery
from cloudinfer.emulator.modelarts.store import ModelArtsStore
from cloudinfer.emulator.pipeline import Pipeline

_OURS = re.compile(r"^modelarts\.([a-z0-9-]+)\.", re.IGNORECASE)
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
        raise invalid("the request body must be JSON.") from exc


class ModelArtsApi:
    def __init__(self, store: ModelArtsStore, default_region: str) -> None:
        self.store, self.default_region = store, default_region

    def routes(self, pipeline: Pipeline[HuaweiCaller]) -> list[web.RouteDef]:
        base = "/v1/{project_id}/services"
        one = base + "/{service_id}"
        serve = pipeline.route
        return [
            web.post(base, serve("CreateService", self.create)),
            web.get(base, serve("ListServices", self.list)),
            web.get(one, serve("ShowService", self.show)),
            web.put(one, serve("UpdateService", self.update)),
            web.delete(one, serve("DeleteService", self.delete)),
            web.get(one + "/events", serve("ShowServiceEvents", self.events)),
        ]

    def _scope(self, request: web.Request, caller: HuaweiCaller) -> tuple[str, str, str]:
        """(account, project, region) the request acts in."""
        region = host_region(request.host, self.default_region)
        project = request.match_info["project_id"]
        if caller.project_id is not None and caller.project_id != project:
            raise project_mismatch()
        return caller.account, project, region

    # -- operations ----------------------------------------------------------------------

    async def create(self, request: web.Request, caller: HuaweiCaller) -> dict[str, Any]:
        account, project, region = self._scope(request, caller)
        svc = self.store.create(account, project, region, await _body(request))
        return {"service_id": svc.service_id, "resource_ids": [svc.service_id]}

    async def show(self, request: web.Request, caller: HuaweiCaller) -> dict[str, Any]:
        account, project, _ = self._scope(request, caller)
        svc = self.store.get(account, project, request.match_info["service_id"])
        return views.show(svc, self.store.clock())

    async def list(self, request: web.Request, caller: HuaweiCaller) -> dict[str, Any]:
        account, project, _ = self._scope(request, caller)
        query = ServiceQuery.from_params(request.query)
        page, total = self.store.list_services(account, project, query)
        now = self.store.clock()
        return {
            "total_count": total,
            "count": len(page),
            "services": [views.list_item(svc, now) for svc in page],
        }

    async def update(self, request: web.Request, caller: HuaweiCaller) -> dict[str, Any]:
        account, project, _ = self._scope(request, caller)
        self.store.update(account, project, request.match_info["service_id"], await _body(request))
        return {}

    async def delete(self, request: web.Request, caller: HuaweiCaller) -> dict[str, Any]:
        account, project, _ = self._scope(request, caller)
        ids = [i.strip() for i in request.match_info["service_id"].split(",") if i.strip()]
        if not ids:
            raise invalid("parameter [service_id] is required.")
        self.store.delete(account, project, ids)
        return {}

    async def events(self, request: web.Request, caller: HuaweiCaller) -> dict[str, Any]:
        account, project, _ = self._scope(request, caller)
        svc = self.store.get(account, project, request.match_info["service_id"])
        page, total = EventQuery.from_params(request.query).select(svc.events)
        return {
            "service_id": svc.service_id,
            "service_name": svc.name,
            "total_count": total,
            "count": len(page),
            "events": [views.event(e) for e in page],
        }
