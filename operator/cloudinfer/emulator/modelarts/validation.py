"""The body checks of CreateService and UpdateService (reference/huawei.md §4.2, §8 item 2;
the API reference's request tables), each refused with ModelArts.0101 (or 3516 for a model
deployed twice), and the normalized bodies the store keeps.

Numbers: the official examples send `weight` as a string ("70"), so integer fields accept an
integer or a string of digits; booleans are not numbers. `envs` values are strings (scalars are
turned into strings, as the service's JSON binding does)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from cloudinfer.emulator.modelarts.errors import duplicate_models, invalid

INFER_TYPES = ("real-time", "batch", "edge")
NAME_RE = re.compile(r"^[\w-]{1,64}$")  # letters (any script), digits, `_` and `-`
DESCRIPTION_MAX = 100
DESCRIPTION_FORBIDDEN = frozenset("!<>=&\"'")
MAX_INSTANCES = 128
TIME_UNITS = ("DAYS", "HOURS", "MINUTES")
BALANCER_POLICIES = ("ROUND_ROBIN", "LEAST_CONNECTIONS", "SOURCE_IP")
UPDATE_STATUSES = ("running", "stopped")
# Service-level fields kept as sent (after their checks) and shown by ShowService.
ATTRIBUTES = (
    "description",
    "workspace_id",
    "schedule",
    "cluster_id",
    "pool_name",
    "vpc_id",
    "subnet_network_id",
    "security_group_id",
    "additional_properties",
    "load_balancer_policy",
    "service_secrets",
    "priority",
)
UPDATABLE = (
    "description",
    "schedule",
    "additional_properties",
    "load_balancer_policy",
    "service_secrets",
    "priority",
)


@dataclass(frozen=True)
class CreateBody:
    name: str
    infer_type: str
    config: list[dict[str, Any]]
    attributes: dict[str, Any]


@dataclass(frozen=True)
class UpdateBody:
    status: str | None = None  # when set, `config` is ignored (the documented rule)
    config: list[dict[str, Any]] | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


def _object(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(f"parameter [{name}] must be an object.")
    return value


def _string(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise invalid(f"parameter [{name}] must be a string.")
    return value


def _integer(value: Any, name: str, low: int, high: int | None = None) -> int:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        number = int(value)
    if number is None:
        raise invalid(f"parameter [{name}] must be an integer.")
    if number < low or (high is not None and number > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise invalid(f"parameter [{name}] must be {bounds}, got {number}.")
    return number


def _number(value: Any, name: str, low: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(f"parameter [{name}] must be a number.")
    if value < low:
        raise invalid(f"parameter [{name}] cannot be smaller than {low}.")
    return round(float(value), 2)


def check_name(value: Any) -> str:
    name = _string(value, "service_name")
    if not NAME_RE.match(name):
        raise invalid(
            "parameter [service_name] must be 1 to 64 characters: letters, digits, "
            "hyphens (-) and underscores (_)."
        )
    return name


def check_description(value: Any) -> str:
    text = _string(value, "description")
    if len(text) > DESCRIPTION_MAX:
        raise invalid(f"parameter [description] cannot exceed {DESCRIPTION_MAX} characters.")
    bad = sorted(set(text) & DESCRIPTION_FORBIDDEN)
    if bad:
        raise invalid(f"parameter [description] cannot contain {''.join(bad)}.")
    return text


def _custom_spec(value: Any, where: str) -> dict[str, Any]:
    spec = _object(value, f"{where}.custom_spec")
    out: dict[str, Any] = {
        "cpu": _number(spec.get("cpu"), f"{where}.custom_spec.cpu", 0.01),
        "memory": _integer(spec.get("memory"), f"{where}.custom_spec.memory", 1),
    }
    if spec.get("gpu_p4") is not None:
        out["gpu_p4"] = _number(spec["gpu_p4"], f"{where}.custom_spec.gpu_p4", 0.0)
    if spec.get("ascend_a310") is not None:
        if "gpu_p4" in out:
            raise invalid(f"parameter [{where}.custom_spec]: set gpu_p4 or ascend_a310, not both.")
        out["ascend_a310"] = _integer(spec["ascend_a310"], f"{where}.custom_spec.ascend_a310", 0)
    return out


def _envs(value: Any, where: str) -> dict[str, str]:
    envs = _object(value, f"{where}.envs")
    out: dict[str, str] = {}
    for key, item in envs.items():
        if isinstance(item, bool):
            out[key] = "true" if item else "false"
        elif isinstance(item, str | int | float):
            out[key] = str(item)
        else:
            raise invalid(f"parameter [{where}.envs.{key}] must be a string.")
    return out


def _config_item(value: Any, index: int, infer_type: str) -> dict[str, Any]:
    where = f"config[{index}]"
    item = dict(_object(value, where))
    model_id = _string(item.get("model_id"), f"{where}.model_id")
    if not model_id:
        raise invalid(f"parameter [{where}.model_id] is required.")
    specification = _string(item.get("specification"), f"{where}.specification")
    if not specification:
        raise invalid(f"parameter [{where}.specification] is required.")
    item["instance_count"] = _integer(
        item.get("instance_count"), f"{where}.instance_count", 1, MAX_INSTANCES
    )
    if infer_type == "real-time":
        if item.get("weight") is None:
            raise invalid(f"parameter [{where}.weight] is required for real-time services.")
        item["weight"] = _integer(item["weight"], f"{where}.weight", 0, 100)
    elif item.get("weight") is not None:
        item["weight"] = _integer(item["weight"], f"{where}.weight", 0, 100)
    if specification == "custom" or item.get("custom_spec") is not None:
        if item.get("custom_spec") is None:
            raise invalid(f"parameter [{where}.custom_spec] is required for specification custom.")
        item["custom_spec"] = _custom_spec(item["custom_spec"], where)
    if item.get("envs") is not None:
        item["envs"] = _envs(item["envs"], where)
    if item.get("deploy_timeout_in_seconds") is not None:
        item["deploy_timeout_in_seconds"] = _integer(
            item["deploy_timeout_in_seconds"], f"{where}.deploy_timeout_in_seconds", 1
        )
    return item


def check_config(value: Any, infer_type: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise invalid("parameter [config] must be a non-empty array.")
    items = [_config_item(item, i, infer_type) for i, item in enumerate(value)]
    if infer_type == "batch" and len(items) != 1:
        raise invalid("parameter [config]: a batch service deploys exactly one model.")
    if len({item["model_id"] for item in items}) != len(items):
        raise duplicate_models()
    if infer_type == "real-time":
        total = sum(item["weight"] for item in items)
        if total != 100:
            raise invalid(f"parameter [config]: the sum of all weights must be 100, got {total}.")
    return items


def _schedule(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise invalid("parameter [schedule] must be an array.")
    out = []
    for i, raw in enumerate(value):
        item = _object(raw, f"schedule[{i}]")
        if item.get("type") != "stop":
            raise invalid(f"parameter [schedule[{i}].type] must be stop.")
        if item.get("time_unit") not in TIME_UNITS:
            raise invalid(f"parameter [schedule[{i}].time_unit] must be DAYS, HOURS or MINUTES.")
        duration = _integer(item.get("duration"), f"schedule[{i}].duration", 1)
        out.append({"type": "stop", "time_unit": item["time_unit"], "duration": duration})
    return out


def _attribute(name: str, value: Any) -> Any:
    if name == "description":
        return check_description(value)
    if name == "schedule":
        return _schedule(value)
    if name == "priority":
        return _integer(value, "priority", 1, 3)
    if name == "load_balancer_policy":
        if value not in BALANCER_POLICIES:
            raise invalid(f"parameter [load_balancer_policy] must be one of {BALANCER_POLICIES}.")
        return value
    if name == "additional_properties":
        return _object(value, name)
    if name == "service_secrets":
        if not isinstance(value, list):
            raise invalid("parameter [service_secrets] must be an array.")
        return value
    return _string(value, name)


def _attributes(body: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {n: _attribute(n, body[n]) for n in names if body.get(n) is not None}


def check_create(raw: Any) -> CreateBody:
    body = _object(raw, "body")
    name = check_name(body.get("service_name"))
    infer_type = body.get("infer_type")
    if infer_type not in INFER_TYPES:
        raise invalid("parameter [infer_type] must be real-time, batch or edge.")
    attributes = _attributes(body, ATTRIBUTES)
    attributes.setdefault("workspace_id", "0")
    return CreateBody(name, infer_type, check_config(body.get("config"), infer_type), attributes)


def check_update(raw: Any, infer_type: str) -> UpdateBody:
    body = _object({} if raw is None else raw, "body")
    status = body.get("status")
    if status is not None and status not in UPDATE_STATUSES:
        raise invalid("parameter [status] must be running or stopped.")
    config = None
    if status is None and body.get("config") is not None:  # with a status it is ignored
        config = check_config(body["config"], infer_type)
    return UpdateBody(status=status, config=config, attributes=_attributes(body, UPDATABLE))
