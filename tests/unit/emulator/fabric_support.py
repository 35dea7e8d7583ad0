"""Helpers for the DataArts Fabric emulator's unit tests: a store on a clock the test moves,
with one inference endpoint, and DeployServiceInstance bodies."""

from __future__ import annotations

from typing import Any

from cloudinfer.emulator.eas.service import Timing
from cloudinfer.emulator.fabric.service import Instance
from cloudinfer.emulator.fabric.store import FabricStore
from tests.unit.emulator.helpers import Clock

ACCOUNT = "acct"
WORKSPACE = "ws-1"
REGION = "cn-north-4"
ENDPOINT = "ep-1"
SPEC = "mu.llama3.8b"
LIMIT = 10  # the endpoint's mu.max
TIMING = Timing(deploy_seconds=4, update_seconds=2, stop_seconds=2, delete_seconds=2)


def store(clock: Clock | None = None, limit: int = LIMIT) -> tuple[FabricStore, Clock]:
    clock = clock or Clock()
    s = FabricStore(Timing(**TIMING.__dict__), clock=clock)
    s.put_endpoint(ACCOUNT, WORKSPACE, ENDPOINT, SPEC, limit)
    return s, clock


def body(
    name: str = "svc",
    max_: Any = 2,
    min_: Any = 1,
    source: Any = "m-1",
    endpoint: Any = ENDPOINT,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "source": {"id": source, "version_id": "v-1"},
        "name": name,
        "endpoint_id": endpoint,
        "config": {
            "model_instance_config": {"resource": {"min": min_, "max": max_, "spec_code": SPEC}}
        },
        **extra,
    }


def deploy(
    s: FabricStore,
    name: str = "svc",
    max_: int = 2,
    *,
    account: str = ACCOUNT,
    workspace: str = WORKSPACE,
    **extra: Any,
) -> Instance:
    return s.deploy(account, workspace, REGION, body(name, max_, **extra))


def resource(max_: Any = None, min_: Any = None, **extra: Any) -> dict[str, Any]:
    """An update body's `config`, with the fields given."""
    res = {k: v for k, v in (("min", min_), ("max", max_)) if v is not None}
    return {"model_instance_config": {"resource": {**res, **extra}}}


def _with(**changes: Any) -> dict[str, Any]:
    out = body()
    for key, value in changes.items():
        if value is _DROP:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def _resource_with(**changes: Any) -> dict[str, Any]:
    out = body()
    res = out["config"]["model_instance_config"]["resource"]
    for key, value in changes.items():
        if value is _DROP:
            res.pop(key, None)
        else:
            res[key] = value
    return out


_DROP = object()

# DeployServiceInstance bodies the API refuses (400 common.01000001), each naming a parameter.
INVALID_DEPLOYS: dict[str, tuple[Any, str]] = {
    "body-not-an-object": ([body()], "body"),
    "source-missing": (_with(source=_DROP), "source"),
    "source-not-an-object": (_with(source="m-1"), "source"),
    "source-id-missing": (_with(source={"version_id": "v-1"}), "source.id"),
    "source-id-37": (_with(source={"id": "m" * 37}), "source.id"),
    "source-id-underscore": (_with(source={"id": "m_1"}), "source.id"),
    "version-id-slash": (_with(source={"id": "m-1", "version_id": "v/1"}), "source.version_id"),
    "name-missing": (_with(name=_DROP), "name"),
    "name-empty": (_with(name=""), "name"),
    "name-65": (_with(name="n" * 65), "name"),
    "name-with-slash": (_with(name="a/b"), "name"),
    "name-not-a-string": (_with(name=7), "name"),
    "description-1025": (_with(description="d" * 1025), "description"),
    **{
        f"description-with-{ord(c)}": (_with(description=f"a{c}b"), "description")
        for c in "!<>=&'\""
    },
    "endpoint-missing": (_with(endpoint_id=_DROP), "endpoint_id"),
    "endpoint-bad": (_with(endpoint_id="ep 1"), "endpoint_id"),
    "config-missing": (_with(config=_DROP), "config"),
    "model-config-missing": (_with(config={}), "config.model_instance_config"),
    "resource-missing": (
        _with(config={"model_instance_config": {}}),
        "config.model_instance_config.resource",
    ),
    "min-0": (_resource_with(min=0), "resource.min"),
    "min-missing": (_resource_with(min=_DROP), "resource.min"),
    "max-1001": (_resource_with(max=1001), "resource.max"),
    "max-as-string": (_resource_with(max="2"), "resource.max"),
    "max-as-bool": (_resource_with(max=True), "resource.max"),
    "max-below-min": (_resource_with(min=3, max=2), "resource.max"),
    "spec-missing": (_resource_with(spec_code=_DROP), "resource.spec_code"),
    "spec-65": (_resource_with(spec_code="s" * 65), "resource.spec_code"),
}

# DeployServiceInstance bodies at the edges the API accepts.
VALID_DEPLOYS: dict[str, dict[str, Any]] = {
    "name-64": _with(name="n" * 64),
    "name-with-dash-underscore-dot-space": _with(name="my svc_1.v-2"),
    "name-chinese": _with(name="推理服务"),
    "description-1024": _with(description="d" * 1024),
    "description-absent": _with(description=_DROP),
    "no-version": _with(source={"id": "m-1"}),
    "ids-36": _with(source={"id": "m" * 36, "version_id": "v" * 36}),
    "min-equals-max": _resource_with(min=5, max=5),
    "pgsql-config-ignored": _with(
        config={
            "model_instance_config": {"resource": {"min": 1, "max": 1, "spec_code": SPEC}},
            "pgsql_instance_config": {"anything": 1},
        }
    ),
}
