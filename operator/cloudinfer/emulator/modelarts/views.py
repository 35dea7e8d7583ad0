"""How ModelArts shows a service: ShowService's body (seed 003), a ListServices item
(reference/huawei.md §4.2) and a ShowServiceEvents event. Times are epoch milliseconds.

Fields the emulator has nothing behind are shown with the values a fresh service has on the
cloud (`invocation_times` 0, `is_shared` false, ...). There is no model registry, so a config
item's `model_name` is its model id and `model_version` is 1.0.0. Optional fields the API
omits when unset (cluster_id, vpc_id, schedule, due_time, error_msg, ...) are omitted."""

from __future__ import annotations

import hashlib
from typing import Any

from cloudinfer.emulator.modelarts.service import Event, Service

MODEL_VERSION = "1.0.0"
_OPTIONAL = (
    "cluster_id",
    "pool_name",
    "vpc_id",
    "subnet_network_id",
    "security_group_id",
    "schedule",
    "load_balancer_policy",
    "priority",
)
_ITEM_EXTRAS = ("cluster_id", "pool_name", "deploy_timeout_in_seconds", "nodes")


def ms(seconds: float) -> int:
    return int(seconds * 1000)


def access_address(svc: Service) -> str:
    """The inference URL of a real-time service, under the account's API gateway group."""
    group = hashlib.sha256(f"{svc.account}/{svc.project}".encode()).hexdigest()[:32]
    return f"https://{group}.apig.{svc.region}.huaweicloudapis.com/v1/infers/{svc.service_id}"


def _common(svc: Service, now: float) -> dict[str, Any]:
    body: dict[str, Any] = {
        "service_id": svc.service_id,
        "service_name": svc.name,
        "description": svc.attributes.get("description", ""),
        "tenant": svc.account,
        "project": svc.project,
        "owner": svc.account,
        "publish_at": ms(svc.created),
        "infer_type": svc.infer_type,
        "workspace_id": svc.attributes.get("workspace_id", "0"),
        "status": svc.status,
        "progress": svc.progress(now),
        "invocation_times": 0,
        "failed_times": 0,
        "is_shared": False,
        "shared_count": 0,
        "operation_time": ms(svc.operated),
        "transition_at": ms(svc.transition),
        "is_free": False,
        "additional_properties": svc.attributes.get("additional_properties", {}),
    }
    if "schedule" in svc.attributes:
        body["schedule"] = svc.attributes["schedule"]
    if svc.due is not None:
        body["due_time"] = ms(svc.due)
    return body


def config_item(svc: Service, item: dict[str, Any]) -> dict[str, Any]:
    model_id = str(item["model_id"])
    shown: dict[str, Any] = {
        "model_id": model_id,
        "model_name": model_id,
        "model_version": MODEL_VERSION,
        "specification": item["specification"],
        "custom_spec": item.get("custom_spec", {}),
        "status": svc.model_status(model_id),
        "weight": item.get("weight", 100),
        "instance_count": item["instance_count"],
        "scaling": False,
        "envs": item.get("envs", {}),
        "additional_properties": item.get("additional_properties", {}),
        "support_debug": False,
    }
    shown.update({k: item[k] for k in _ITEM_EXTRAS if k in item})
    return shown


def show(svc: Service, now: float) -> dict[str, Any]:
    """ShowService."""
    body = _common(svc, now)
    body["update_time"] = ms(svc.updated)
    body["config"] = [config_item(svc, item) for item in svc.config]
    for key in _OPTIONAL:
        if key in svc.attributes:
            body[key] = svc.attributes[key]
    if svc.infer_type == "real-time":
        body["access_address"] = access_address(svc)
    if svc.status == "failed" and svc.error_msg:
        body["error_msg"] = svc.error_msg
    return body


def list_item(svc: Service, now: float) -> dict[str, Any]:
    """A ListServices item: no config, address or error (ShowService has those)."""
    body = _common(svc, now)
    body["is_opened_sample_collection"] = "false"  # a string in the API
    return body


def event(e: Event) -> dict[str, Any]:
    return {"event_type": e.type, "event_info": e.info, "occur_time": ms(e.at)}
