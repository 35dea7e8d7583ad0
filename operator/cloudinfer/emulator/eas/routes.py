"""PAI-EAS HTTP surface: the real ROA paths and bodies. Every route goes through the shared
pipeline (faults, ACS3 signature, call log); each handler acts for the signing key's account."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from cloudinfer.emulator.config import AccessKey
from cloudinfer.emulator.eas.errors import EasApiError
from cloudinfer.emulator.eas.listing import ListQuery, parse_int, parse_json
from cloudinfer.emulator.eas.service import Service
from cloudinfer.emulator.eas.store import EasStore
from cloudinfer.emulator.pipeline import Pipeline

_HOST_REGION = re.compile(r"^(?:pai-eas|eas)\.([a-z0-9-]+)\.aliyuncs\.com")
_SUMMARY = (
    "ServiceId",
    "ServiceName",
    "Status",
    "Region",
    "InternetEndpoint",
    "IntranetEndpoint",
)


def _labels(value: str | None) -> dict[str, str]:
    parsed = parse_json(value, "Labels")
    if parsed is None:
        return {}
    if not isinstance(parsed, dict):
        raise EasApiError(400, "InvalidParameter", "Labels must be a JSON object")
    return {str(k): str(v) for k, v in parsed.items()}


async def _body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise EasApiError(400, "InvalidParameter", "request body must be JSON") from exc


def _target(request: web.Request) -> tuple[str, str]:
    return request.match_info["cluster"], request.match_info["name"]


class EasApi:
    def __init__(self, store: EasStore, default_region: str) -> None:
        self.store, self.default_region = store, default_region

    def routes(self, pipeline: Pipeline[AccessKey]) -> list[web.RouteDef]:
        base = "/api/v2/services"
        one = base + "/{cluster}/{name}"
        serve = pipeline.route
        return [
            web.post(base, serve("CreateService", self.create)),
            web.get(base, serve("ListServices", self.list)),
            web.get(one, serve("DescribeService", self.describe)),
            web.put(one, serve("UpdateService", self.update)),
            web.delete(one, serve("DeleteService", self.delete)),
            web.post(one + "/clone", serve("CloneService", self.clone)),
            web.put(one + "/version", serve("UpdateServiceVersion", self.update_version)),
            web.put(one + "/label", serve("UpdateServiceLabel", self.update_labels)),
            web.put(one + "/start", serve("StartService", self.start)),
            web.put(one + "/stop", serve("StopService", self.stop)),
            web.get(one + "/events", serve("DescribeServiceEvent", self.events)),
            web.put(one + "/autoscaler", serve("UpdateServiceAutoScaler", self.autoscaler)),
        ]

    def _region(self, request: web.Request) -> str:
        match = _HOST_REGION.match(request.host)
        return match.group(1) if match else self.default_region

    def _summary(self, svc: Service) -> dict[str, Any]:
        api = svc.to_api(self.store.host_id)
        return {k: api[k] for k in _SUMMARY}

    # -- operations ----------------------------------------------------------------------

    async def create(self, request: web.Request, key: AccessKey) -> dict[str, Any]:
        svc = self.store.create(
            key.account,
            self._region(request),
            await _body(request),
            _labels(request.query.get("Labels")),
            request.query.get("WorkspaceId", ""),
        )
        return self._summary(svc)

    async def clone(self, request: web.Request, key: AccessKey) -> dict[str, Any]:
        region, name = _target(request)
        svc = self.store.clone(
            key.account,
            region,
            name,
            await _body(request),
            _labels(request.query.get("Labels")),
        )
        return self._summary(svc)

    async def describe(self, request: web.Request, key: AccessKey) -> dict[str, Any]:
        return self.store.get(key.account, *_target(request)).to_api(self.store.host_id)

    async def list(self, request: web.Request, key: AccessKey) -> dict[str, Any]:
        query = ListQuery.from_params(request.query)
        page, total = self.store.list_services(key.account, query)
        return {
            "Services": [svc.to_api(self.store.host_id) for svc in page],
            "PageNumber": query.page,
            "PageSize": query.size,
            "TotalCount": total,
        }

    async def update(self, request: web.Request, key: AccessKey) -> dict[str, Any]:
        update_type = request.query.get("UpdateType") or "merge"
        if update_type not in ("merge", "replace"):
            raise EasApiError(400, "InvalidParameter", "UpdateType must be merge or replace")
        region, name = _target(request)
        self.store.update(key.account, region, name, await _body(request), update_type == "replace")
        return {"Message": f"Succeed to update service [{name}] in region [{region}]"}

    async def update_labels(self, request: web.Request, key: AccessKey) -> dict[str, Any]:
        region, name = _target(request)
        body = await _body(request) or {}
        self.store.update_labels(key.account, region, name, body.get("Labels"))
        return {"Message": f"Succeed to update labels of service [{name}]"}

    async def update_version(self, request: web.Request, key: AccessKey) -> dict[str, Any]:
        region, name = _target(request)
        body = await _body(request) or {}
        self.store.update_version(key.account, region, name, body.get("Version"))
        return {"Message": f"Succeed to update version of service [{name}]"}

    async def start(self, request: web.Request, key: AccessKey) -> dict[str, Any]:
        region, name = _target(request)
        self.store.start(key.account, region, name)
        return {"Message": f"Succeed to start service [{name}] in region [{region}]"}

    async def stop(self, request: web.Request, key: AccessKey) -> dict[str, Any]:
        region, name = _target(request)
        self.store.stop(key.account, region, name)
        return {"Message": f"Succeed to stop service [{name}] in region [{region}]"}

    async def delete(self, request: web.Request, key: AccessKey) -> dict[str, Any]:
        region, name = _target(request)
        self.store.delete(key.account, region, name)
        return {"Message": f"Succeed to delete service [{name}] in region [{region}]"}

    async def events(self, request: web.Request, key: AccessKey) -> dict[str, Any]:
        svc = self.store.get(key.account, *_target(request))
        q = request.query
        page = parse_int(q.get("PageNum"), "PageNum", 1)
        size = parse_int(q.get("PageSize"), "PageSize", 100)
        if page < 1 or size < 1:
            raise EasApiError(400, "InvalidParameter", "PageNum and PageSize must be positive")
        events = [
            e.to_api()
            for e in svc.events
            if q.get("EventType") in (None, "", e.type)
            and q.get("StartTime", "") <= e.to_api()["Time"] <= (q.get("EndTime") or "~")
        ]
        chunk = events[(page - 1) * size : page * size]
        return {
            "Events": chunk,
            "PageNum": page,
            "TotalCount": len(events),
            "TotalPageNum": max(1, -(-len(events) // size)),
        }

    async def autoscaler(self, request: web.Request, key: AccessKey) -> dict[str, Any]:
        region, name = _target(request)
        self.store.set_autoscaler(key.account, region, name, await _body(request))
        return {"Message": f"Succeed to configure autoscaler of service [{name}]"}
