"""The ModelArts (v1 real-time services) module: its store (persisted as modelarts.json), its
routes behind the shared pipeline with the Huawei dialect and the Huawei gateway's verifier
(AK/SK from the emulator's key list, IAM tokens from `iam_tokens`), and its admin routes:

  GET    /_emulator/modelarts/services[?account=&project=]   every service, as ShowService
  DELETE /_emulator/modelarts/services                        forget every service
  PUT    /_emulator/modelarts/services/{service_id}/health    {"unhealthy": N, "model_id": ID}:
         N instances of the model (default: the first) turn unhealthy, so a running service
         is `concerning`; 0 heals them
  GET    /_emulator/modelarts/quota, PUT …/quota              {"services", "running",
         "instances"}: per-account limits (null: none) refused with ModelArts.3520-3522
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from typing import Any

from aiohttp import web

from cloudinfer.emulator.huawei.dialect import huawei_dialect
from cloudinfer.emulator.huawei.verifier import HuaweiVerifier
from cloudinfer.emulator.modelarts import views
from cloudinfer.emulator.modelarts.errors import INTERNAL_ERROR
from cloudinfer.emulator.modelarts.quota import Quota
from cloudinfer.emulator.modelarts.routes import ModelArtsApi
from cloudinfer.emulator.modelarts.store import ModelArtsStore
from cloudinfer.emulator.modules import Shared, attach_state
from cloudinfer.emulator.pipeline import ApiError, Pipeline

CLOUD = "huawei-modelarts"


def target(request: web.Request, body: bytes) -> str:
    """What the call log names: the service id(s) in the path, or CreateService's name."""
    service_id = request.match_info.get("service_id")
    if service_id:
        return service_id
    try:
        parsed = json.loads(body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return ""
    return str(parsed.get("service_name", "")) if isinstance(parsed, dict) else ""


class ModelArtsModule:
    name = "modelarts"

    def __init__(self, shared: Shared) -> None:
        config = shared.config
        self.store = ModelArtsStore(config.timing)
        self.state = attach_state(shared, self.name, self.store)
        verifier = HuaweiVerifier(config.access_keys, config.iam_tokens)
        dialect = huawei_dialect(CLOUD, target, INTERNAL_ERROR)
        self.pipeline = Pipeline(dialect, verifier.check, shared.faults, shared.calls)
        self.api = ModelArtsApi(self.store, config.region)

    def routes(self) -> list[web.RouteDef]:
        return self.api.routes(self.pipeline)

    def admin_routes(self, prefix: str) -> list[web.RouteDef]:
        return [
            web.get(f"{prefix}/services", self._services),
            web.delete(f"{prefix}/services", self._reset),
            web.put(f"{prefix}/services/{{service_id}}/health", self._health),
            web.get(f"{prefix}/quota", self._get_quota),
            web.put(f"{prefix}/quota", self._set_quota),
        ]

    async def _services(self, request: web.Request) -> web.Response:
        q = request.query
        chosen = self.store.all(q.get("account"), q.get("project"))
        now = self.store.clock()
        return web.json_response([views.show(svc, now) for svc in chosen])

    async def _reset(self, _: web.Request) -> web.Response:
        self.store.reset()
        return web.json_response({"ok": True})

    async def _health(self, request: web.Request) -> web.Response:
        body = await _json(request)
        unhealthy, model_id = body.get("unhealthy"), body.get("model_id")
        if not isinstance(unhealthy, int) or isinstance(unhealthy, bool):
            return web.json_response({"error": "unhealthy must be an integer"}, status=400)
        if model_id is not None and not isinstance(model_id, str):
            return web.json_response({"error": "model_id must be a string"}, status=400)
        try:
            svc = self.store.set_unhealthy(request.match_info["service_id"], model_id, unhealthy)
        except ApiError as exc:
            return web.json_response({"error": exc.message}, status=exc.status)
        return web.json_response(views.show(svc, self.store.clock()))

    async def _get_quota(self, _: web.Request) -> web.Response:
        return web.json_response(asdict(self.store.quota))

    async def _set_quota(self, request: web.Request) -> web.Response:
        body = await _json(request)
        known = {f.name for f in fields(Quota)}
        for key, value in body.items():
            if key not in known:
                return web.json_response({"error": f"unknown quota {key}"}, status=400)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                return web.json_response({"error": f"{key} must be null or >= 0"}, status=400)
        for key, value in body.items():
            setattr(self.store.quota, key, value)
        self.store.on_change()
        return web.json_response(asdict(self.store.quota))


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    return body if isinstance(body, dict) else {}
