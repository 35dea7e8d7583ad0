"""PAI-EAS HTTP surface: the real ROA paths, bodies and error shape, behind signature
verification, fault injection and the call log."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from cloudinfer.emulator.calls import CallLog
from cloudinfer.emulator.eas.acs3 import AccessKey, Acs3Verifier, SignatureError
from cloudinfer.emulator.eas.service import Service
from cloudinfer.emulator.eas.store import EasApiError, EasStore
from cloudinfer.emulator.faults import Faults

CLOUD = "alibaba-eas"
_HOST_REGION = re.compile(r"^(?:pai-eas|eas)\.([a-z0-9-]+)\.aliyuncs\.com")

Handler = Callable[[web.Request, AccessKey], Awaitable[dict[str, Any]]]


def _request_id() -> str:
    return str(uuid.uuid4()).upper()


def _error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    body = {
        "RequestId": _request_id(),
        "Code": code,
        "Message": message,
        "Recommend": "",
        "HostId": "pai-eas.emulator",
    }
    return web.json_response(body, status=status, headers=headers)


def _fail(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> tuple[web.Response, str, bool]:
    return _error(status, code, message, headers), code, False


def _int(value: str | None, name: str, default: int) -> int:
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise EasApiError(400, "InvalidParameter", f"{name} must be an integer") from exc


def _json_param(value: str | None, name: str) -> Any:
    if value in (None, ""):
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise EasApiError(400, "InvalidParameter", f"{name} must be JSON") from exc


def _labels(value: str | None) -> dict[str, str]:
    parsed = _json_param(value, "Labels")
    if parsed is None:
        return {}
    if not isinstance(parsed, dict):
        raise EasApiError(400, "InvalidParameter", "Labels must be a JSON object")
    return {str(k): str(v) for k, v in parsed.items()}


class EasApi:
    def __init__(
        self,
        store: EasStore,
        verifier: Acs3Verifier,
        faults: Faults,
        calls: CallLog,
        default_region: str,
    ) -> None:
        self.store, self.verifier, self.faults, self.calls = store, verifier, faults, calls
        self.default_region = default_region

    def routes(self) -> list[web.RouteDef]:
        base = "/api/v2/services"
        one = base + "/{cluster}/{name}"
        return [
            web.post(base, self._wrap("CreateService", self.create)),
            web.get(base, self._wrap("ListServices", self.list)),
            web.get(one, self._wrap("DescribeService", self.describe)),
            web.put(one, self._wrap("UpdateService", self.update)),
            web.delete(one, self._wrap("DeleteService", self.delete)),
            web.post(one + "/clone", self._wrap("CloneService", self.clone)),
            web.put(one + "/version", self._wrap("UpdateServiceVersion", self.update_version)),
            web.put(one + "/start", self._wrap("StartService", self.start)),
            web.put(one + "/stop", self._wrap("StopService", self.stop)),
            web.get(one + "/events", self._wrap("DescribeServiceEvent", self.events)),
            web.put(one + "/autoscaler", self._wrap("UpdateServiceAutoScaler", self.autoscaler)),
        ]

    # -- the pipeline every request goes through -----------------------------------------

    def _wrap(
        self, operation: str, handler: Handler
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def serve(request: web.Request) -> web.StreamResponse:
            response, code, drop = await self._serve(operation, handler, request)
            target = request.match_info.get("name") or await self._body_name(request)
            self.calls.record(CLOUD, operation, response.status, code, target)
            if drop and request.transport is not None:
                request.transport.close()  # committed, but the caller never hears of it
            return response

        return serve

    async def _serve(
        self, operation: str, handler: Handler, request: web.Request
    ) -> tuple[web.Response, str, bool]:
        """The answer, its error code ("" on success), and whether to drop it."""
        drop = False
        for rule in self.faults.fire(operation):
            if rule.kind in ("latency", "timeout"):
                await asyncio.sleep(rule.seconds)
            elif rule.kind == "throttle":
                retry = str(max(1, round(rule.seconds or 1)))
                return _fail(
                    429,
                    "Throttling.User",
                    "Request was denied due to user flow control.",
                    {"x-acs-retry-after": retry},
                )
            elif rule.kind == "error":
                return _fail(rule.status, rule.code, rule.message)
            elif rule.kind == "drop-response":
                drop = True
        body = await request.read()
        headers: dict[str, list[str]] = {}
        for name, value in request.headers.items():
            headers.setdefault(name.lower(), []).append(value)
        try:
            key = self.verifier.verify(
                request.method,
                request.raw_path.split("?", 1)[0],
                request.query_string,
                headers,
                body,
            )
        except SignatureError as exc:
            return _fail(exc.status, exc.code, exc.message)
        try:
            payload = await handler(request, key)
        except EasApiError as exc:
            return _fail(exc.status, exc.code, exc.message)
        payload = {"RequestId": _request_id(), **payload}
        return web.json_response(payload), "", drop

    # -- helpers -------------------------------------------------------------------------

    async def _body_name(self, request: web.Request) -> str:
        """CreateService names its service in the body (for the call log)."""
        try:
            body = json.loads(await request.read() or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            return ""
        return str(body.get("name", "")) if isinstance(body, dict) else ""

    def _region(self, request: web.Request) -> str:
        match = _HOST_REGION.match(request.host)
        return match.group(1) if match else self.default_region

    async def _body(self, request: web.Request) -> Any:
        raw = await request.read()
        if not raw:
            return None
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise EasApiError(400, "InvalidParameter", "request body must be JSON") from exc

    def _summary(self, svc: Service) -> dict[str, Any]:
        api = svc.to_api(self.store.host_id)
        return {
            k: api[k]
            for k in (
                "ServiceId",
                "ServiceName",
                "Status",
                "Region",
                "InternetEndpoint",
                "IntranetEndpoint",
            )
        }

    def _target(self, request: web.Request) -> tuple[str, str]:
        return request.match_info["cluster"], request.match_info["name"]

    # -- operations ----------------------------------------------------------------------

    async def create(self, request: web.Request, key: AccessKey) -> dict[str, Any]:
        svc = self.store.create(
            self._region(request),
            await self._body(request),
            _labels(request.query.get("Labels")),
            request.query.get("WorkspaceId", ""),
            key.account,
        )
        return self._summary(svc)

    async def clone(self, request: web.Request, key: AccessKey) -> dict[str, Any]:
        region, name = self._target(request)
        svc = self.store.clone(
            region,
            name,
            await self._body(request),
            _labels(request.query.get("Labels")),
            key.account,
        )
        return self._summary(svc)

    async def describe(self, request: web.Request, key: AccessKey) -> dict[str, Any]:
        return self.store.get(*self._target(request)).to_api(self.store.host_id)

    async def list(self, request: web.Request, key: AccessKey) -> dict[str, Any]:
        q = request.query
        page = _int(q.get("PageNumber"), "PageNumber", 1)
        size = _int(q.get("PageSize"), "PageSize", 100)
        if page < 1 or not 1 <= size <= 100:
            raise EasApiError(400, "InvalidParameter", "PageNumber >= 1 and 1 <= PageSize <= 100")
        label_filter = _json_param(q.get("Label"), "Label") or {}
        services = [s.to_api(self.store.host_id) for s in self.store.list()]

        def keep(s: dict[str, Any]) -> bool:
            labels = {x["LabelKey"]: x["LabelValue"] for x in s["Labels"]}
            for k, v in label_filter.items():
                if k not in labels or (v is not None and labels[k] != str(v)):
                    return False
            return all(
                [
                    q.get("Filter", "") in s["ServiceName"],
                    q.get("ServiceName") in (None, "", s["ServiceName"]),
                    q.get("ServiceStatus") in (None, "", s["Status"]),
                    q.get("ServiceUid") in (None, "", s["ServiceUid"]),
                    q.get("WorkspaceId") in (None, "", s["WorkspaceId"]),
                    q.get("GroupName") in (None, "", s["ServiceGroup"]),
                    q.get("ResourceName") in (None, "", s["Resource"]),
                ]
            )

        matched = [s for s in services if keep(s)]
        sort_key = q.get("Sort") or "CreateTime"
        if sort_key not in ("CreateTime", "UpdateTime", "ServiceName", "Status"):
            raise EasApiError(400, "InvalidParameter", f"cannot sort by {sort_key}")
        matched.sort(
            key=lambda s: (s[sort_key], s["ServiceName"]),
            reverse=(q.get("Order") or "desc") == "desc",
        )
        chunk = matched[(page - 1) * size : page * size]
        return {"Services": chunk, "PageNumber": page, "PageSize": size, "TotalCount": len(matched)}

    async def update(self, request: web.Request, key: AccessKey) -> dict[str, Any]:
        update_type = request.query.get("UpdateType") or "merge"
        if update_type not in ("merge", "replace"):
            raise EasApiError(400, "InvalidParameter", "UpdateType must be merge or replace")
        region, name = self._target(request)
        self.store.update(region, name, await self._body(request), update_type == "replace")
        return {"Message": f"Succeed to update service [{name}] in region [{region}]"}

    async def update_version(self, request: web.Request, key: AccessKey) -> dict[str, Any]:
        region, name = self._target(request)
        body = await self._body(request) or {}
        self.store.update_version(region, name, body.get("Version"))
        return {"Message": f"Succeed to update version of service [{name}]"}

    async def start(self, request: web.Request, key: AccessKey) -> dict[str, Any]:
        region, name = self._target(request)
        self.store.start(region, name)
        return {"Message": f"Succeed to start service [{name}] in region [{region}]"}

    async def stop(self, request: web.Request, key: AccessKey) -> dict[str, Any]:
        region, name = self._target(request)
        self.store.stop(region, name)
        return {"Message": f"Succeed to stop service [{name}] in region [{region}]"}

    async def delete(self, request: web.Request, key: AccessKey) -> dict[str, Any]:
        region, name = self._target(request)
        self.store.delete(region, name)
        return {"Message": f"Succeed to delete service [{name}] in region [{region}]"}

    async def events(self, request: web.Request, key: AccessKey) -> dict[str, Any]:
        svc = self.store.get(*self._target(request))
        q = request.query
        page = _int(q.get("PageNum"), "PageNum", 1)
        size = _int(q.get("PageSize"), "PageSize", 100)
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
        region, name = self._target(request)
        self.store.set_autoscaler(region, name, await self._body(request))
        return {"Message": f"Succeed to configure autoscaler of service [{name}]"}
