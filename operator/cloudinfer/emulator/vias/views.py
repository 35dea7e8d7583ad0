"""How VIAS shows a service: ShowServiceDetail (seed 004, Table 3; the Java SDK's
ShowServiceDetailResponse) and a ListUserServices item (ServicesListInfoDto).

Times are epoch milliseconds (`Long`). Fields the docs say are "returned when not empty"
(`logo`, `description`, `diagram`, `error_msg`; in the list item also `description` and
`error_msg`) are left out when empty; `can_update` is returned only when true and
`new_alg_id` only with it (the Java model: "returned when true", "returned when it can be
upgraded"). The seed example's `alg_scene` is not in the Java model and not written.

What the emulator has nothing behind: `service_name` is the algorithm's name; `release_at`
is when the service record was created (the algorithm was offered) [a guess]; `pool_id` is
empty until a first deployment names one; `service_api_list` is the seed's six task APIs on
the caller's project and the algorithm's `api`."""

from __future__ import annotations

from typing import Any

from cloudinfer.emulator.vias.listing import created_ms
from cloudinfer.emulator.vias.service import Service

# (request_type, zh, en, path after /v2/{project}) as in seed 004's example
TASK_APIS = (
    ("POST", "Creating a Task", "create task", "/services/{api}/tasks"),
    ("GET", "Task details", "task detail", "/tasks/{task_id}"),
    ("GET", "Task list", "task list", "/tasks"),
    ("DELETE", "Deleting a Task", "delete task", "/tasks/{task_id}"),
    ("PUT", "Starting a task", "start task", "/tasks/{task_id}/action/start"),
    ("PUT", "Stopping a task", "stop task", "/tasks/{task_id}/action/stop"),
)


def service_api_list(svc: Service) -> list[dict[str, str]]:
    return [
        {
            "request_type": method,
            "zh": zh,
            "en": en,
            # `{task_id}` stays a placeholder, as in the seed; only `{api}` is filled in.
            "request_url": f"/v2/{svc.project}" + path.replace("{api}", svc.spec.api),
        }
        for method, zh, en, path in TASK_APIS
    ]


def deployment_constraints(svc: Service) -> dict[str, Any]:
    spec = svc.spec
    return {
        "request_mode": spec.request_mode,
        "cpu_type": spec.cpu_type,
        "accelerators": [dict(a) for a in spec.accelerators],
        "input_types": list(spec.input_types),
        "output_types": list(spec.output_types),
        "service_config": spec.service_config,
        "task_config": spec.task_config,
    }


def _non_empty(body: dict[str, Any], **optional: str) -> dict[str, Any]:
    body.update({k: v for k, v in optional.items() if v})
    return body


def detail(svc: Service) -> dict[str, Any]:
    """ShowServiceDetail."""
    spec = svc.spec
    body: dict[str, Any] = {
        "service_id": svc.service_id,
        "service_name": spec.name,
        "function_version": spec.function_version,
        "release_flag": spec.release_flag,
        "created_at": created_ms(svc.created),
        "updated_at": created_ms(svc.updated),
        "release_at": created_ms(svc.created),
        "api": spec.api,
        "pool_id": svc.pool_id,
        "alg_name": spec.name,
        "alg_id": svc.alg_id,
        "request_mode": spec.request_mode,
        "package_name": spec.package_name,
        "package_id": spec.package_id,
        "alg_version": spec.alg_version,
        "alg_versions": list(spec.alg_versions),
        "service_api_list": service_api_list(svc),
        "deployment_constraints": deployment_constraints(svc),
        "company": spec.company,
        "tags": list(spec.tags),
        "deploy_type": spec.deploy_type,
        "alg_class": spec.alg_class,
        "alg_status": svc.status,
    }
    return _non_empty(
        body,
        logo=spec.logo,
        description=spec.description,
        diagram=spec.diagram,
        error_msg=svc.error_msg,
    )


def list_item(svc: Service) -> dict[str, Any]:
    """A ListUserServices item (ServicesListInfoDto)."""
    spec = svc.spec
    body: dict[str, Any] = {
        "alg_id": svc.alg_id,
        "service_id": svc.service_id,
        "service_name": spec.name,
        "package_id": spec.package_id,
        "package_name": spec.package_name,
        "company": spec.company,
        "alg_version": spec.alg_version,
        "function_version": spec.function_version,
        "tags": list(spec.tags),
        "created_at": created_ms(svc.created),
        "alg_status": svc.status,
        "deploy_type": spec.deploy_type,
        "alg_class": spec.alg_class,
        "request_mode": spec.request_mode,
    }
    _non_empty(body, description=spec.description, error_msg=svc.error_msg)
    if spec.can_update:
        body["can_update"] = True
        _non_empty(body, new_alg_id=spec.new_alg_id)
    return body
