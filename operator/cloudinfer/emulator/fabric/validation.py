"""The body checks of DeployServiceInstance and UpdateServiceInstance (seed 001's request
tables; reference/huawei.md §5.1), each refused with 400 common.01000001 and a message naming
the parameter, and the normalized bodies the store keeps.

  * ids (`workspace_id`, `endpoint_id`, `source.id`, `source.version_id`, `instance_id`):
    1-36 letters, digits and `-`;
  * `name`: 1-64 letters (any script: the SDK's doc allows Chinese), digits, `-`, `_`, `.`
    and spaces;
  * `description`: at most 1,024 characters, none of `!<>=&'"`;
  * `config.model_instance_config.resource`: `min` and `max` integers in [1, 1000] with
    `max >= min`, `spec_code` 1-64 characters. The seed marks `config` optional, but an
    inference instance needs its resources (the capacity rule reads `max`), so the emulator
    requires it [a guess: the cloud's answer without one is not documented].

Numbers must be JSON integers: the service's binding refuses a string or a boolean for an
integer (seed 001's "Type mismatch" example). Unknown fields are ignored, as a JSON binding
does; `pgsql_instance_config` is accepted and ignored.

Update takes `name`, `description`, `source` and `config.model_instance_config.resource
{min, max}`; of those only `name`, `description` and `max` can change ("does not support
updating the minimum number of instances and model version", UpdateServiceInstance doc):
the store refuses a changed `min`, `source.id` or `source.version_id`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from cloudinfer.emulator.fabric.errors import invalid

ID_RE = re.compile(r"^[A-Za-z0-9-]{1,36}$")
NAME_RE = re.compile(r"^[\w\-. ]{1,64}$")
DESCRIPTION_MAX = 1024
DESCRIPTION_FORBIDDEN = frozenset("!<>=&'\"")
RESOURCE_MIN, RESOURCE_MAX = 1, 1000
SPEC_CODE_MAX = 64
RESOURCE = "config.model_instance_config.resource"


@dataclass(frozen=True)
class DeployBody:
    name: str
    description: str
    endpoint_id: str
    source_id: str
    version_id: str | None
    spec_code: str
    min: int
    max: int


@dataclass(frozen=True)
class UpdateBody:
    name: str | None = None
    description: str | None = None
    source_id: str | None = None  # None: not sent (a JSON null is not sent either)
    version_id: str | None = None
    min: int | None = None
    max: int | None = None


def _object(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(f"Invalid parameter [{name}]: it must be an object.")
    return value


def _string(value: Any, name: str) -> str:
    if value is None:
        raise invalid(f"Invalid parameter [{name}]: it is required.")
    if not isinstance(value, str):
        raise invalid(f"Invalid parameter [{name}]: it must be a string.")
    return value


def check_id(value: Any, name: str) -> str:
    text = _string(value, name)
    if not ID_RE.match(text):
        raise invalid(
            f"Invalid parameter [{name}]: it must be 1 to 36 characters: letters, digits "
            "and hyphens (-)."
        )
    return text


def check_name(value: Any) -> str:
    name = _string(value, "name")
    if not NAME_RE.match(name):
        raise invalid(
            "Invalid parameter [name]: it must be 1 to 64 characters: letters, digits, "
            "hyphens (-), underscores (_), periods (.) and spaces."
        )
    return name


def check_description(value: Any) -> str:
    if value is None:
        return ""
    text = _string(value, "description")
    if len(text) > DESCRIPTION_MAX:
        raise invalid(
            f"Invalid parameter [description]: it cannot exceed {DESCRIPTION_MAX} characters."
        )
    bad = sorted(set(text) & DESCRIPTION_FORBIDDEN)
    if bad:
        raise invalid(f"Invalid parameter [description]: it cannot contain {''.join(bad)}.")
    return text


def check_count(value: Any, name: str) -> int:
    if value is None:
        raise invalid(f"Invalid parameter [{name}]: it is required.")
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(
            f"failed to read http request, please check your input, code: 400, reason: "
            f"Type mismatch., cause: parameter [{name}] must be an integer."
        )
    if not RESOURCE_MIN <= value <= RESOURCE_MAX:
        raise invalid(
            f"Invalid parameter [{name}]: it must be in [{RESOURCE_MIN}, {RESOURCE_MAX}], "
            f"got {value}."
        )
    return value


def _spec_code(value: Any) -> str:
    name = f"{RESOURCE}.spec_code"
    text = _string(value, name)
    if not 1 <= len(text) <= SPEC_CODE_MAX:
        raise invalid(f"Invalid parameter [{name}]: it must be 1 to {SPEC_CODE_MAX} characters.")
    return text


def _resource(body: dict[str, Any], required: bool) -> dict[str, Any] | None:
    """`config.model_instance_config.resource`, or None when absent and not required."""
    config = body.get("config")
    if config is None and not required:
        return None
    if config is None:
        raise invalid("Invalid parameter [config]: it is required.")
    model = _object(config, "config").get("model_instance_config")
    if model is None and not required:
        return None
    if model is None:
        raise invalid("Invalid parameter [config.model_instance_config]: it is required.")
    resource = _object(model, "config.model_instance_config").get("resource")
    if resource is None and not required:
        return None
    if resource is None:
        raise invalid(f"Invalid parameter [{RESOURCE}]: it is required.")
    return _object(resource, RESOURCE)


def _ordered(min_: int, max_: int) -> None:
    if max_ < min_:
        raise invalid(
            f"Invalid parameter [{RESOURCE}.max]: it must be greater than or equal to "
            f"{RESOURCE}.min ({max_} < {min_})."
        )


def check_deploy(raw: Any) -> DeployBody:
    body = _object(raw, "body")
    if body.get("source") is None:
        raise invalid("Invalid parameter [source]: it is required.")
    source = _object(body["source"], "source")
    source_id = check_id(source.get("id"), "source.id")
    version = source.get("version_id")
    version_id = None if version is None else check_id(version, "source.version_id")
    name = check_name(body.get("name"))
    description = check_description(body.get("description"))
    endpoint_id = check_id(body.get("endpoint_id"), "endpoint_id")
    resource = _resource(body, required=True)
    assert resource is not None
    min_ = check_count(resource.get("min"), f"{RESOURCE}.min")
    max_ = check_count(resource.get("max"), f"{RESOURCE}.max")
    _ordered(min_, max_)
    spec_code = _spec_code(resource.get("spec_code"))
    return DeployBody(name, description, endpoint_id, source_id, version_id, spec_code, min_, max_)


def check_update(raw: Any) -> UpdateBody:
    body = _object({} if raw is None else raw, "body")
    name = None if body.get("name") is None else check_name(body["name"])
    description = body.get("description")
    if description is not None:
        description = check_description(description)
    source_id = version_id = None
    if body.get("source") is not None:
        source = _object(body["source"], "source")
        if source.get("id") is not None:
            source_id = check_id(source["id"], "source.id")
        if source.get("version_id") is not None:
            version_id = check_id(source["version_id"], "source.version_id")
    min_ = max_ = None
    resource = _resource(body, required=False)
    if resource is not None:
        if resource.get("min") is not None:
            min_ = check_count(resource["min"], f"{RESOURCE}.min")
        if resource.get("max") is not None:
            max_ = check_count(resource["max"], f"{RESOURCE}.max")
        if min_ is not None and max_ is not None:
            _ordered(min_, max_)
    return UpdateBody(name, description, source_id, version_id, min_, max_)
