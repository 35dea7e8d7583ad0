"""How DataArts Fabric shows an instance and an endpoint: the SDK models'
ServiceInstanceBriefInfo (a ListServicesInstances item), ShowServiceInstanceDetailResponse,
EndpointBriefInfo (a ListEndpoints item) and ShowEndpointResponse.

Times are `YYYY-MM-DDTHH:MM:SS.sssZ` in UTC, as the Huawei examples write them and as the SDK
parses them (it cannot parse numeric offsets). Enums are written exactly as the SDK's members
(status, type), or the SDK turns them into empty objects.

What the emulator has nothing behind: users. `create_user` and `update_user` name the caller's
account as both the domain and the user (there are no IAM users here). `url` is an object
(the SDK's `Url` model, not a list): the instance's invocation address on its fabric-ep host,
type PUBLIC. `duration` is whole seconds since the instance was deployed [the unit is a
guess: the docs say only "running duration"]. `error_code` and `error_msg` are shown only
when the instance FAILED. Optional endpoint fields the emulator has no value for (cap,
ray_resource, tokens_quota, config, custom_image_id) are omitted, as the API omits unset
fields."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cloudinfer.emulator.fabric.endpoint import Endpoint
from cloudinfer.emulator.fabric.listing import INSTANCE_TYPE, VISIBILITY
from cloudinfer.emulator.fabric.service import Instance

URL_NAME = "ApiInvoke"  # the Fabric SDK's name for a RESTful invocation URL


def iso(seconds: float) -> str:
    """`2023-05-30T12:24:30.401Z`"""
    stamp = datetime.fromtimestamp(seconds, UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def user(account: str) -> dict[str, str]:
    return {"domain_name": account, "user_name": account}


def invocation_address(inst: Instance) -> str:
    return (
        f"https://fabric-ep.{inst.region}.myhuaweicloud.com/v1/workspaces/{inst.workspace}"
        f"/services/instances/{inst.instance_id}/invocations"
    )


def brief(inst: Instance, now: float) -> dict[str, Any]:
    """A ListServicesInstances item (ServiceInstanceBriefInfo)."""
    source: dict[str, str] = {"id": inst.source_id}
    if inst.version_id is not None:
        source["version_id"] = inst.version_id
    return {
        "id": inst.instance_id,
        "name": inst.name,
        "description": inst.description,
        "endpoint_id": inst.endpoint_id,
        "source": source,
        "status": inst.status,
        "type": INSTANCE_TYPE,
        "visibility": VISIBILITY,
        "create_time": iso(inst.created),
        "update_time": iso(inst.updated),
        "duration": inst.duration(now),
        "create_user": user(inst.create_user),
    }


def detail(inst: Instance, now: float) -> dict[str, Any]:
    """ShowServiceInstanceDetail."""
    body = brief(inst, now)
    body["update_user"] = user(inst.update_user)
    body["url"] = {"name": URL_NAME, "address": invocation_address(inst), "type": "PUBLIC"}
    body["config"] = {
        "model_instance_config": {
            "resource": {"min": inst.min, "max": inst.max, "spec_code": inst.spec_code}
        }
    }
    if inst.status == "FAILED":
        body["error_code"], body["error_msg"] = inst.error_code, inst.error_msg
    return body


def endpoint_brief(ep: Endpoint) -> dict[str, Any]:
    """A ListEndpoints item (EndpointBriefInfo)."""
    return {
        "id": ep.endpoint_id,
        "name": ep.name,
        "type": ep.type,
        "status": ep.status,
        "description": ep.description,
        "visibility": VISIBILITY,
        "create_time": iso(ep.created),
        "update_time": iso(ep.updated),
        "owner": user(ep.account),
        "reserved_resource": {"mu": {"spec_code": ep.spec_code, "min": ep.min, "max": ep.max}},
    }


def endpoint(ep: Endpoint) -> dict[str, Any]:
    """ShowEndpoint: the brief fields plus its URLs (none: invocations go to the instances)
    and its runtime environment."""
    body = endpoint_brief(ep)
    body["urls"] = []
    body["runtime_env_type"] = "RELEASE"
    return body
