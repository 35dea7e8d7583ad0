"""The VIAS module: algorithm services (host vias). Its store (persisted as vias.json), its
routes behind the shared pipeline with the Huawei dialect (errors in VIAS's own body) and the
Huawei gateway's verifier (AK/SK from the emulator's key list, IAM tokens from
`iam_tokens`), the call log's cloud `huawei-vias`, and its admin routes:

  GET    /_emulator/vias/algorithms                  the catalogue: each algorithm's fields,
         plus `alg_id`, `account` and `project_id` (null: every project of the account)
  PUT    /_emulator/vias/algorithms/{alg_id}         create or replace one:
         {"name": NAME (required, 1-64 characters), "account": ACCOUNT (default the
          emulator's), "project": PROJECT (absent or null: every project of the account),
          and optionally any of the fields ShowServiceDetail shows of an algorithm:
          "api", "description", "logo", "diagram", "company", "package_id", "package_name",
          "alg_version", "alg_versions", "function_version", "release_flag", "tags",
          "request_mode", "cpu_type", "accelerators", "input_types", "output_types",
          "service_config", "task_config", "deploy_type", "alg_class", "can_update",
          "new_alg_id"}; its service records keep their status and deployment
  GET    /_emulator/vias/services[?account=&project=]   every service record, as
         ShowServiceDetail plus `account`, `project_id`, `stream_count`, `deploy_config`
         and `envs` (naming a project addresses it, for the account named or else every
         account, which creates the records of every-project algorithms there)
  DELETE /_emulator/vias/services                    every service back to not deployed
  PUT    /_emulator/vias/services/{service_id}       {"alg_status": STATUS, "error_msg": TEXT
         (default "")}: set a status at once (e.g. service_concerning, service_finished,
         service_failed); it stays until the next deploy or stop

Algorithms also come from `--vias-algorithm ID:NAME[:PROJECT[:ACCOUNT]]`
(EmulatorConfig.vias_algorithms), applied after the saved state is restored (a seed resets
that algorithm's admin overrides; its services keep their state). Services are timed by the
emulator's shared timing (deploy, update and stop seconds; service.py).

Semantics the docs leave open, and the emulator's guesses:
  * the catalogue is per account (and project): an algorithm has exactly one service
    record in a project, not deployed until DeployAlgorithm; a record of an every-project
    algorithm is created the first time its project is addressed, with a service_id
    derived from (account, project, alg_id), stable across restarts;
  * DeployAlgorithm on a not_deployed, service_stopped or service_failed service deploys it
    (service_deploying, then service_running); on a service_running or service_concerning
    one it upgrades it with the new settings (service_upgrading, then service_running);
    while service_deploying, service_upgrading or service_stopping it is refused with
    VIAS.00010003 (an operation in progress); on service_finished with VIAS.00010004;
    `pool_id` is required when the service is not_deployed (VIAS.00010001), and a later
    deploy without one keeps the pool; every accepted deploy records stream_count,
    deploy_config, envs and pool_id (only pool_id is shown by ShowServiceDetail) and sets
    updated_at;
  * a deploy_config or envs with FAIL_MARKER (`emulator-fail`) in a key or value fails the
    deployment half-way (service_failed with error_msg);
  * StopDeployAlgorithm on a not_deployed service is VIAS.00010002; on a stopping or
    stopped one it answers 200 and changes nothing; otherwise service_stopping, then
    service_stopped;
  * updated_at is the last operation's time (deploy, stop, admin), not the last status
    change; release_at is when the record was created; not-found is always 400
    VIAS.00010002, for another account's or project's objects too (ShowServiceDetail by
    an unknown service id, DeployAlgorithm and StopDeployAlgorithm by an unknown alg_id);
  * an algorithm's fields default to the seed's example: request_mode async, cpu_type
    x86_64, one accelerator (gp, Tnt004, cuda 10.2), input types Restful and VCN, output
    Webhook, the seed's service_config and task_config, function_version 1.0, alg_version
    1.0.0 (alg_versions [1.0.0]), deploy_type cloud, alg_class self, company "Huawei
    Cloud", release_flag true, no tags; `api` is `c-<alg_id lowercased>`, package_name the
    algorithm's name, package_id derived from the alg_id; service_api_list is the seed's
    six task APIs on the caller's project;
  * ListUserServices: is_paged false answers every match (page_size and page_num are still
    checked); ties in the order are broken by service_id; name_like is a case-insensitive
    substring; alg_status is taken as repeated keys and as CSV (listing.py);
  * the body checks: an empty pool_id counts as not sent, a JSON null as not sent, unknown
    fields are ignored, an alg_id in the path that is not 1-64 letters, digits and `-` is
    VIAS.00010001 (validation.py); the body is checked before the algorithm is looked up;
  * a status forced through the admin API is not timed: it stays until the next operation;
  * a URL project other than the credentials' X-Project-Id is 401 VIAS.00010005.

Answers: errors as errors.py lists, in VIAS's body `{error_code, error_msg, detail, params,
reason, advice}`; the gateway's own refusals (APIGW.*) keep the gateway's shape."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

from aiohttp import web

from cloudinfer.emulator.config import DEFAULT_ACCOUNT, VIAS_ID, VIAS_NAME_MAX, VIAS_PROJECT
from cloudinfer.emulator.huawei import dialect as huawei
from cloudinfer.emulator.huawei.verifier import HuaweiVerifier
from cloudinfer.emulator.modules import Shared, attach_state
from cloudinfer.emulator.pipeline import ApiError, Pipeline
from cloudinfer.emulator.vias import views
from cloudinfer.emulator.vias.errors import INTERNAL_ERROR, ViasError
from cloudinfer.emulator.vias.routes import ViasApi
from cloudinfer.emulator.vias.service import (
    ALG_CLASSES,
    CPU_TYPES,
    DEPLOY_TYPES,
    INPUT_TYPES,
    OUTPUT_TYPES,
    OVERRIDABLE,
    REQUEST_MODES,
    STATUSES,
    Algorithm,
    Service,
)
from cloudinfer.emulator.vias.store import ViasStore

CLOUD = "huawei-vias"
_API_NAME = re.compile(r"^[^\s/]{1,128}$")  # a path segment of the task URLs
_TEXT_MAX = 256  # AcceleratorsDto's string limits


def target(request: web.Request, _: bytes) -> str:
    """What the call log names: the algorithm or service id in the path."""
    return request.match_info.get("alg_id") or request.match_info.get("service_id", "")


def error(exc: ApiError, request_id: str) -> web.Response:
    """VIAS's error body; the gateway's refusals (APIGW.*) keep the gateway's shape."""
    if exc.code.startswith("APIGW."):
        return huawei.error(exc, request_id)
    vias = exc if isinstance(exc, ViasError) else None
    body = {
        "error_code": exc.code,
        "error_msg": exc.message,
        "detail": vias.detail if vias else exc.message,
        "params": list(vias.params) if vias else [],
        "reason": vias.reason if vias else "",
        "advice": vias.advice if vias else "",
    }
    return web.json_response(
        body, status=exc.status, headers={**exc.headers, "X-Request-Id": request_id}
    )


class ViasModule:
    name = "vias"

    def __init__(self, shared: Shared) -> None:
        config = shared.config
        self.store = ViasStore(config.timing)
        self.state = attach_state(shared, self.name, self.store)
        for seed in config.vias_algorithms:
            self.store.seed(seed)
        verifier = HuaweiVerifier(config.access_keys, config.iam_tokens)
        dialect = dataclasses.replace(
            huawei.huawei_dialect(CLOUD, target, INTERNAL_ERROR), error=error
        )
        self.pipeline = Pipeline(dialect, verifier.check, shared.faults, shared.calls)
        self.api = ViasApi(self.store, config.region)

    def routes(self) -> list[web.RouteDef]:
        return self.api.routes(self.pipeline)

    def admin_routes(self, prefix: str) -> list[web.RouteDef]:
        return [
            web.get(f"{prefix}/algorithms", self._algorithms),
            web.put(f"{prefix}/algorithms/{{alg_id}}", self._put_algorithm),
            web.get(f"{prefix}/services", self._services),
            web.delete(f"{prefix}/services", self._reset),
            web.put(f"{prefix}/services/{{service_id}}", self._force),
        ]

    @staticmethod
    def _algorithm_view(algorithm: Algorithm) -> dict[str, Any]:
        return {
            "alg_id": algorithm.alg_id,
            "account": algorithm.account,
            "project_id": algorithm.project,
            **algorithm.spec.to_state(),
        }

    @staticmethod
    def _service_view(svc: Service) -> dict[str, Any]:
        return {
            **views.detail(svc),
            "account": svc.account,
            "project_id": svc.project,
            "stream_count": svc.stream_count,
            "deploy_config": svc.deploy_config,
            "envs": svc.envs,
        }

    async def _algorithms(self, _: web.Request) -> web.Response:
        return web.json_response([self._algorithm_view(a) for a in self.store.algorithms()])

    async def _put_algorithm(self, request: web.Request) -> web.Response:
        alg_id = request.match_info["alg_id"]
        body = await _json(request)
        try:
            account, project, name, overrides = _algorithm_fields(alg_id, body)
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        algorithm = self.store.put_algorithm(account, project, alg_id, name, **overrides)
        return web.json_response(self._algorithm_view(algorithm))

    async def _services(self, request: web.Request) -> web.Response:
        q = request.query
        chosen = self.store.all_services(q.get("account"), q.get("project"))
        return web.json_response([self._service_view(svc) for svc in chosen])

    async def _reset(self, _: web.Request) -> web.Response:
        self.store.reset_services()
        return web.json_response({"ok": True})

    async def _force(self, request: web.Request) -> web.Response:
        body = await _json(request)
        unknown = sorted(set(body) - {"alg_status", "error_msg"})
        status, error_msg = body.get("alg_status"), body.get("error_msg", "")
        if unknown:
            return web.json_response({"error": f"unknown fields: {', '.join(unknown)}"}, status=400)
        if status not in STATUSES:
            return web.json_response(
                {"error": f"alg_status must be one of {', '.join(STATUSES)}"}, status=400
            )
        if not isinstance(error_msg, str):
            return web.json_response({"error": "error_msg must be a string"}, status=400)
        svc = self.store.force(request.match_info["service_id"], status, error_msg)
        if svc is None:
            return web.json_response({"error": "no such service"}, status=404)
        return web.json_response(self._service_view(svc))


def _strings(value: Any, key: str, allowed: tuple[str, ...] | None = None) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key} must be a list of strings")
    if allowed is not None and not set(value) <= set(allowed):
        raise ValueError(f"{key} must be a list of {', '.join(allowed)}")
    return list(value)


def _accelerators(value: Any) -> list[dict[str, str]]:
    """AcceleratorsDto objects: `type` and `name` required, `cuda_version` and
    `driver_version_section` optional, each 1-256 characters."""
    if not isinstance(value, list):
        raise ValueError("accelerators must be a list of objects")
    required, optional = ("type", "name"), ("cuda_version", "driver_version_section")
    out = []
    for item in value:
        if not isinstance(item, dict) or not set(item) <= {*required, *optional}:
            raise ValueError(f"each accelerator is an object of {', '.join(required + optional)}")
        for key in required:
            if key not in item:
                raise ValueError(f"each accelerator needs {key}")
        for key, text in item.items():
            if not isinstance(text, str) or not 1 <= len(text) <= _TEXT_MAX:
                raise ValueError(f"accelerator {key} must be 1-{_TEXT_MAX} characters")
        out.append(dict(item))
    return out


_ENUMS = {
    "request_mode": REQUEST_MODES,
    "cpu_type": CPU_TYPES,
    "deploy_type": DEPLOY_TYPES,
    "alg_class": ALG_CLASSES,
}
_LISTS = {
    "alg_versions": None,
    "tags": None,
    "input_types": INPUT_TYPES,
    "output_types": OUTPUT_TYPES,
}


def _override(key: str, value: Any) -> Any:
    """One algorithm field of the admin PUT, checked."""
    if key in _ENUMS:
        if value not in _ENUMS[key]:
            raise ValueError(f"{key} must be one of {', '.join(_ENUMS[key])}")
        return value
    if key in _LISTS:
        return _strings(value, key, _LISTS[key])
    if key == "accelerators":
        return _accelerators(value)
    if key in ("release_flag", "can_update"):
        if not isinstance(value, bool):
            raise ValueError(f"{key} must be true or false")
        return value
    if not isinstance(value, str):
        raise ValueError(f"{key} must be a string")
    if key == "api" and not _API_NAME.match(value):
        raise ValueError("api must be 1-128 characters, no spaces or '/'")
    return value


def _algorithm_fields(
    alg_id: str, body: dict[str, Any]
) -> tuple[str, str | None, str, dict[str, Any]]:
    """The admin PUT's body, checked: (account, project, name, overrides)."""
    unknown = sorted(set(body) - {"account", "project", "name", *OVERRIDABLE})
    if unknown:
        raise ValueError(f"unknown fields: {', '.join(unknown)}")
    if not VIAS_ID.match(alg_id):
        raise ValueError("the algorithm id must be 1-64 letters, digits or '-'")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > VIAS_NAME_MAX:
        raise ValueError(f"name is required: 1-{VIAS_NAME_MAX} characters")
    account = body.get("account") or DEFAULT_ACCOUNT
    if not isinstance(account, str):
        raise ValueError("account must be a string")
    project = body.get("project") or None
    if project is not None and (not isinstance(project, str) or not VIAS_PROJECT.match(project)):
        raise ValueError("project must be 1-64 letters, digits, '-' or '_'")
    overrides = {k: _override(k, v) for k, v in body.items() if k in OVERRIDABLE}
    return account, project, name, overrides


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    return body if isinstance(body, dict) else {}
