"""Helpers for the ModelArts emulator's unit tests: a store on a clock the test moves, and
CreateService bodies."""

from __future__ import annotations

from typing import Any

from cloudinfer.emulator.eas.service import Timing
from cloudinfer.emulator.modelarts.service import Service
from cloudinfer.emulator.modelarts.store import ModelArtsStore
from tests.unit.emulator.helpers import Clock

ACCOUNT = "acct"
PROJECT = "p1"
REGION = "cn-north-4"
TIMING = Timing(deploy_seconds=4, update_seconds=2, stop_seconds=2, delete_seconds=2)


def store(clock: Clock | None = None) -> tuple[ModelArtsStore, Clock]:
    clock = clock or Clock()
    return ModelArtsStore(Timing(**TIMING.__dict__), clock=clock), clock


def model(
    model_id: str = "m1", weight: Any = 100, instances: Any = 1, **extra: Any
) -> dict[str, Any]:
    item = {
        "model_id": model_id,
        "specification": "modelarts.vm.cpu.2u",
        "instance_count": instances,
        "weight": weight,
        **extra,
    }
    return {k: v for k, v in item.items() if v is not None}


def body(name: str = "svc", *models: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "service_name": name,
        "infer_type": "real-time",
        "config": list(models) or [model()],
        **extra,
    }


def create(
    s: ModelArtsStore,
    name: str = "svc",
    *models: dict[str, Any],
    account: str = ACCOUNT,
    project: str = PROJECT,
    **extra: Any,
) -> Service:
    return s.create(account, project, REGION, body(name, *models, **extra))


def fill(s: ModelArtsStore, count: int, project: str = PROJECT, prefix: str = "s") -> list[str]:
    """`count` services created one per tick of the store's clock; their ids, oldest first."""
    clock = s.clock
    assert isinstance(clock, Clock)
    ids = []
    for i in range(count):
        ids.append(create(s, f"{prefix}{i:05d}", project=project).service_id)
        clock.now += 0.25
    return ids


def _with(**changes: Any) -> dict[str, Any]:
    out = body()
    for key, value in changes.items():
        if value is _DROP:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def _model_without(key: str) -> dict[str, Any]:
    item = model()
    del item[key]
    return item


_DROP = object()
CUSTOM = {"specification": "custom"}

# CreateService bodies the API refuses, each with the documented code.
INVALID_CREATES: dict[str, tuple[Any, str]] = {
    "weights-sum-below-100": (body("svc", model("a", 60), model("b", 30)), "ModelArts.0101"),
    "weights-sum-above-100": (body("svc", model("a", "60"), model("b", "50")), "ModelArts.0101"),
    "weight-missing": (body("svc", model(weight=None)), "ModelArts.0101"),
    "weight-above-100": (body("svc", model(weight=101)), "ModelArts.0101"),
    "description-too-long": (_with(description="d" * 101), "ModelArts.0101"),
    **{
        f"description-with-{ord(c)}": (_with(description=f"a{c}b"), "ModelArts.0101")
        for c in "!<>=&\"'"
    },
    "instance-count-0": (body("svc", model(instances=0)), "ModelArts.0101"),
    "instance-count-129": (body("svc", model(instances=129)), "ModelArts.0101"),
    "instance-count-text": (body("svc", model(instances="one")), "ModelArts.0101"),
    "instance-count-missing": (body("svc", _model_without("instance_count")), "ModelArts.0101"),
    "name-empty": (_with(service_name=""), "ModelArts.0101"),
    "name-65": (_with(service_name="n" * 65), "ModelArts.0101"),
    "name-with-space": (_with(service_name="bad name"), "ModelArts.0101"),
    "name-missing": (_with(service_name=_DROP), "ModelArts.0101"),
    "infer-type-missing": (_with(infer_type=_DROP), "ModelArts.0101"),
    "infer-type-unknown": (_with(infer_type="offline"), "ModelArts.0101"),
    "config-missing": (_with(config=_DROP), "ModelArts.0101"),
    "config-empty": (_with(config=[]), "ModelArts.0101"),
    "model-id-missing": (body("svc", _model_without("model_id")), "ModelArts.0101"),
    "specification-missing": (body("svc", _model_without("specification")), "ModelArts.0101"),
    "custom-without-spec": (body("svc", model(**CUSTOM)), "ModelArts.0101"),
    "custom-cpu-too-small": (
        body("svc", model(**CUSTOM, custom_spec={"cpu": 0.001, "memory": 512})),
        "ModelArts.0101",
    ),
    "envs-not-a-map": (body("svc", model(envs=["A=1"])), "ModelArts.0101"),
    "same-model-twice": (body("svc", model("a", 50), model("a", 50)), "ModelArts.3516"),
    "batch-with-two-models": (
        _with(infer_type="batch", config=[model("a"), model("b")]),
        "ModelArts.0101",
    ),
    "schedule-unit": (
        _with(schedule=[{"type": "stop", "time_unit": "WEEKS", "duration": 1}]),
        "ModelArts.0101",
    ),
    "priority-4": (_with(priority=4), "ModelArts.0101"),
    "balancer-policy": (_with(load_balancer_policy="RANDOM"), "ModelArts.0101"),
    "body-not-an-object": ([body()], "ModelArts.0101"),
}

# CreateService bodies at the edges the API accepts.
VALID_CREATES: dict[str, dict[str, Any]] = {
    "weights-as-strings": body("svc", model("a", "70"), model("b", "30")),
    "description-100": _with(description="d" * 100),
    "instance-count-128": body("svc", model(instances=128)),
    "name-64": _with(service_name="n" * 64),
    "name-unicode-dash-underscore": _with(service_name="服务-name_1"),
    "custom-spec": body(
        "svc", model(**CUSTOM, custom_spec={"cpu": 1.5, "memory": 7500, "gpu_p4": 0.25})
    ),
    "batch-without-weight": _with(infer_type="batch", config=[model(weight=None)]),
    "schedule": _with(schedule=[{"type": "stop", "time_unit": "HOURS", "duration": 2}]),
}
