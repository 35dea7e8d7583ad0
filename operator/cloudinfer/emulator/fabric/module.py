"""The DataArts Fabric module: service instances (host fabric-ep) and inference endpoints (host
fabric), both on the emulator's one port. Its store (persisted as fabric.json), its routes
behind the shared pipeline with the Huawei dialect and the Huawei gateway's verifier (AK/SK
from the emulator's key list, IAM tokens from `iam_tokens`), the call log's cloud
`huawei-fabric`, and its admin routes:

  GET    /_emulator/fabric/instances[?account=&workspace=]   every instance, as
         ShowServiceInstanceDetail plus `account` and `workspace_id`
  DELETE /_emulator/fabric/instances                         forget every instance
  GET    /_emulator/fabric/endpoints[?account=&workspace=]   every endpoint, as ShowEndpoint
         plus `account`, `workspace_id` and `in_use` (the `max` its instances hold)
  PUT    /_emulator/fabric/endpoints/{endpoint_id}           create or replace one:
         {"workspace": WS (default "default"), "account": ACCOUNT (default the emulator's),
          "spec_code": SPEC, "max": 1-1000, "min": 0-max (default 0),
          "status": an EndpointStatus (default RUNNING),
          "type": an EndpointType (default inference), "name": NAME (default the id)}

Endpoints also come from `--fabric-endpoint ID:SPEC:MAX[:WORKSPACE[:ACCOUNT]]`
(EmulatorConfig.fabric_endpoints), applied after the saved state is restored, so a restart
with a new MAX takes it. Instances are timed by the emulator's shared timing (deploy, update
and delete seconds; service.py).

Answers: errors as errors.py lists, with `solution_msg` when there is advice; a delete's 202
has an empty body."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from aiohttp import web

from cloudinfer.emulator.config import (
    DEFAULT_ACCOUNT,
    DEFAULT_FABRIC_WORKSPACE,
    FABRIC_ID,
    FABRIC_MU_MAX,
)
from cloudinfer.emulator.fabric import views
from cloudinfer.emulator.fabric.endpoint import STATUSES, TYPES, Endpoint
from cloudinfer.emulator.fabric.errors import INTERNAL_ERROR, FabricError
from cloudinfer.emulator.fabric.routes import FabricApi
from cloudinfer.emulator.fabric.service import Instance
from cloudinfer.emulator.fabric.store import FabricStore
from cloudinfer.emulator.huawei import dialect as huawei
from cloudinfer.emulator.huawei.verifier import HuaweiVerifier
from cloudinfer.emulator.modules import Shared, attach_state
from cloudinfer.emulator.pipeline import ApiError, Pipeline, Reply

CLOUD = "huawei-fabric"


def target(request: web.Request, body: bytes) -> str:
    """What the call log names: the instance or endpoint id in the path, or the deployed
    instance's name."""
    named = request.match_info.get("instance_id") or request.match_info.get("endpoint_id")
    if named:
        return named
    if request.method != "POST":
        return ""
    try:
        parsed = json.loads(body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return ""
    return str(parsed.get("name", "")) if isinstance(parsed, dict) else ""


def error(exc: ApiError, request_id: str) -> web.Response:
    """The Huawei error body, plus Fabric's `solution_msg` when the refusal has one."""
    if not isinstance(exc, FabricError) or not exc.solution:
        return huawei.error(exc, request_id)
    body = {"error_code": exc.code, "error_msg": exc.message, "solution_msg": exc.solution}
    return web.json_response(body, status=exc.status, headers={"X-Request-Id": request_id})


def ok(reply: Reply, request_id: str) -> web.Response:
    """The Huawei success, except that a reply without a body (DeleteServiceInstance's 202)
    is sent empty."""
    if reply.body is None:
        return web.Response(
            status=reply.status, headers={**reply.headers, "X-Request-Id": request_id}
        )
    return huawei.ok(reply, request_id)


class FabricModule:
    name = "fabric"

    def __init__(self, shared: Shared) -> None:
        config = shared.config
        self.store = FabricStore(config.timing)
        self.state = attach_state(shared, self.name, self.store)
        for seed in config.fabric_endpoints:
            self.store.seed(seed)
        verifier = HuaweiVerifier(config.access_keys, config.iam_tokens)
        dialect = dataclasses.replace(
            huawei.huawei_dialect(CLOUD, target, INTERNAL_ERROR), error=error, ok=ok
        )
        self.pipeline = Pipeline(dialect, verifier.check, shared.faults, shared.calls)
        self.api = FabricApi(self.store, config.region)

    def routes(self) -> list[web.RouteDef]:
        return self.api.routes(self.pipeline)

    def admin_routes(self, prefix: str) -> list[web.RouteDef]:
        return [
            web.get(f"{prefix}/instances", self._instances),
            web.delete(f"{prefix}/instances", self._reset),
            web.get(f"{prefix}/endpoints", self._endpoints),
            web.put(f"{prefix}/endpoints/{{endpoint_id}}", self._put_endpoint),
        ]

    def _instance_view(self, inst: Instance, now: float) -> dict[str, Any]:
        return {**views.detail(inst, now), "account": inst.account, "workspace_id": inst.workspace}

    def _endpoint_view(self, ep: Endpoint) -> dict[str, Any]:
        return {
            **views.endpoint(ep),
            "account": ep.account,
            "workspace_id": ep.workspace,
            "in_use": self.store.in_use(ep.key),
        }

    async def _instances(self, request: web.Request) -> web.Response:
        q = request.query
        chosen = self.store.all_instances(q.get("account"), q.get("workspace"))
        now = self.store.clock()
        return web.json_response([self._instance_view(inst, now) for inst in chosen])

    async def _reset(self, _: web.Request) -> web.Response:
        self.store.reset_instances()
        return web.json_response({"ok": True})

    async def _endpoints(self, request: web.Request) -> web.Response:
        q = request.query
        chosen = self.store.all_endpoints(q.get("account"), q.get("workspace"))
        return web.json_response([self._endpoint_view(ep) for ep in chosen])

    async def _put_endpoint(self, request: web.Request) -> web.Response:
        endpoint_id = request.match_info["endpoint_id"]
        body = await _json(request)
        try:
            fields = _endpoint_fields(endpoint_id, body)
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        ep = self.store.put_endpoint(**fields)
        return web.json_response(self._endpoint_view(ep))


def _count(body: dict[str, Any], key: str, low: int, high: int, default: int | None) -> int:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{key} must be an integer in [{low}, {high}]")
    return value


def _endpoint_fields(endpoint_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """The admin PUT's body, checked, as FabricStore.put_endpoint's arguments."""
    known = {"workspace", "account", "spec_code", "max", "min", "status", "type", "name"}
    unknown = sorted(set(body) - known)
    if unknown:
        raise ValueError(f"unknown fields: {', '.join(unknown)}")
    workspace = body.get("workspace") or DEFAULT_FABRIC_WORKSPACE
    account = body.get("account") or DEFAULT_ACCOUNT
    spec_code, name = body.get("spec_code"), body.get("name")
    status, type_ = body.get("status", "RUNNING"), body.get("type", "inference")
    if not FABRIC_ID.match(endpoint_id):
        raise ValueError("the endpoint id must be 1-36 letters, digits or '-'")
    if not isinstance(workspace, str) or not FABRIC_ID.match(workspace):
        raise ValueError("workspace must be 1-36 letters, digits or '-'")
    if not isinstance(account, str):
        raise ValueError("account must be a string")
    if not isinstance(spec_code, str) or not 1 <= len(spec_code) <= 64:
        raise ValueError("spec_code is required: 1-64 characters")
    if name is not None and (not isinstance(name, str) or not name):
        raise ValueError("name must be a non-empty string")
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    if type_ not in TYPES:
        raise ValueError(f"type must be one of {', '.join(TYPES)}")
    max_ = _count(body, "max", 1, FABRIC_MU_MAX, None)
    min_ = _count(body, "min", 0, max_, 0)
    return {
        "account": account,
        "workspace": workspace,
        "endpoint_id": endpoint_id,
        "spec_code": spec_code,
        "max_": max_,
        "min_": min_,
        "status": status,
        "type_": type_,
        "name": name,
    }


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    return body if isinstance(body, dict) else {}
