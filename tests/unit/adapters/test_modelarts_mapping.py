"""Pure ModelArts mapping: spec → CreateService body, drift against ShowService, status
mapping and what is recorded (the applied fingerprint), owner marker."""

from __future__ import annotations

from typing import Any

from cloudinfer.adapters.base import CallContext, ManagedResource
from cloudinfer.adapters.modelarts import (
    APPLIED,
    EVENTS_SEEN,
    ModelArtsInferenceServiceAdapter,
    applied_fingerprint,
    config_drift,
    create_body,
    external_name,
    observation_of,
    unseen_events,
    wants_events,
)
from cloudinfer.api.inferenceservice import InferenceServiceSpec
from cloudinfer.clouds.huawei.modelarts import ModelArtsService
from cloudinfer.clouds.huawei.modelarts.models import ServiceEvent

SECRET_PATH = "spec.modelarts.models[0].envs[1].valueFrom.secretKeyRef"


def spec(**modelarts: Any) -> InferenceServiceSpec:
    block = {
        "models": [
            {
                "modelId": "m-1",
                "specification": "modelarts.vm.cpu.2u",
                "weight": 100,
                "envs": [
                    {"name": "MODE", "value": "fast"},
                    {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
                ],
            }
        ],
        **modelarts,
    }
    return InferenceServiceSpec.model_validate(
        {"providerConfigRef": {"name": "pc"}, "modelarts": block}
    )


def resource(s: InferenceServiceSpec, status: dict[str, Any] | None = None) -> ManagedResource:
    return ManagedResource(
        "InferenceService",
        "ns",
        "svc",
        "uid-1",
        1,
        s,
        "svc",
        external_id="sid-1",
        status=status or {},
        secret_values={SECRET_PATH: "s3cret"},
    )


def shown(**fields: Any) -> ModelArtsService:
    base: dict[str, Any] = {
        "service_id": "sid-1",
        "service_name": "svc",
        "status": "running",
        "access_address": "https://infer.example.com/v1/infers/sid-1",
        "config": [
            {
                "model_id": "m-1",
                "specification": "modelarts.vm.cpu.2u",
                "instance_count": 1,
                "weight": 100,
                "envs": {"MODE": "fast", "TOKEN": "s3cret"},
                "status": "running",
            }
        ],
        "additional_properties": {"cloudinfer-uid": "uid-1", "cloudinfer-resource": "ns.svc"},
    }
    return ModelArtsService.from_api({**base, **fields})


CTX = CallContext("cn-north-4", workspace_id="ws-1", project_id="p-1")


def test_the_create_body_carries_models_envs_from_secrets_and_the_owner_marker() -> None:
    body = create_body(
        resource(spec(additionalProperties={"team": "a", "cloudinfer-uid": "x"})), CTX
    )
    assert body["service_name"] == "svc" and body["infer_type"] == "real-time"
    assert body["workspace_id"] == "ws-1"
    assert body["config"] == [
        {
            "model_id": "m-1",
            "specification": "modelarts.vm.cpu.2u",
            "instance_count": 1,
            "weight": 100,
            "envs": {"MODE": "fast", "TOKEN": "s3cret"},
        }
    ]
    # The marker wins over a user's key of the same name.
    assert body["additional_properties"] == {
        "team": "a",
        "cloudinfer-uid": "uid-1",
        "cloudinfer-resource": "ns.svc",
    }


def test_custom_spec_and_schedule() -> None:
    s = spec(schedule={"duration": 2, "timeUnit": "HOURS"})
    s.modelarts.models[0].specification = None  # type: ignore[union-attr]
    s = InferenceServiceSpec.model_validate(
        {
            "providerConfigRef": {"name": "pc"},
            "modelarts": {
                "models": [{"modelId": "m", "customSpec": {"cpu": 1.5, "memory": 2048}}],
                "schedule": {"duration": 2},
            },
        }
    )
    body = create_body(resource(s), CTX)
    assert body["config"][0]["specification"] == "custom"
    assert body["config"][0]["custom_spec"] == {"cpu": 1.5, "memory": 2048}
    assert body["schedule"] == [{"type": "stop", "time_unit": "HOURS", "duration": 2}]


def test_no_drift_when_the_service_matches_and_a_weight_change_is_named() -> None:
    r = resource(spec())
    assert config_drift(r, shown()) == []
    other = shown(config=[{**shown().config[0].__dict__, "weight": 100, "instance_count": 3}])
    paths = [
        d.path
        for d in config_drift(
            r,
            ModelArtsService.from_api(
                {
                    "service_id": "sid-1",
                    "config": [
                        {
                            "model_id": "m-1",
                            "specification": "modelarts.vm.cpu.2u",
                            "instance_count": 3,
                            "weight": 100,
                            "envs": {"MODE": "fast", "TOKEN": "s3cret"},
                        }
                    ],
                    "additional_properties": {
                        "cloudinfer-uid": "uid-1",
                        "cloudinfer-resource": "ns.svc",
                    },
                }
            ),
        )
    ]
    assert paths == ["config.0.instance_count"]
    assert other.service_id == "sid-1"


def test_a_changed_secret_value_is_drift_without_its_value_in_the_message() -> None:
    r = resource(spec())
    service = shown(
        config=[
            {
                "model_id": "m-1",
                "specification": "modelarts.vm.cpu.2u",
                "instance_count": 1,
                "weight": 100,
                "envs": {"MODE": "fast", "TOKEN": "old"},
            }
        ]
    )
    drift = config_drift(r, service)
    assert [d.path for d in drift] == ["config.0.envs.TOKEN"]
    assert "s3cret" not in repr(drift) and "old" not in repr(drift)


def test_phases_progress_and_what_is_recorded() -> None:
    r = resource(spec())
    obs = observation_of(shown(), r, shown=True)
    assert (obs.phase, obs.transitional, obs.progress) == ("Running", False, 100)
    assert obs.endpoint == "https://infer.example.com/v1/infers/sid-1"
    assert obs.recorded == {
        APPLIED: f"{applied_fingerprint(r)}@0",
        "models": [
            {"modelId": "m-1", "status": "running", "instanceCount": 1, "weight": 100},
        ],
    }
    assert obs.instances == {"total": 1, "running": 1, "pending": 0}
    assert obs.owner_uid == "uid-1" and obs.owner_namespace == "ns"

    deploying = observation_of(shown(status="deploying", progress=40), r, shown=True)
    assert (deploying.phase, deploying.transitional, deploying.progress) == ("Creating", True, 40)
    running_before = resource(spec(), {"phase": "Running"})
    assert observation_of(shown(status="deploying"), running_before, shown=True).phase == "Updating"

    failed = observation_of(shown(status="failed", error_msg="image pull failed"), r, shown=True)
    assert failed.failed and failed.message == "image pull failed" and failed.progress == 0

    concerning = observation_of(shown(status="concerning"), r, shown=True)
    assert concerning.phase == "Running" and "not healthy" in concerning.message

    stopped = observation_of(shown(status="stopped"), r, shown=True)
    assert stopped.stopped and [d.path for d in stopped.drift] == ["stopped"]


def test_a_listed_item_keeps_the_recorded_url_and_records_nothing() -> None:
    r = resource(spec(), {"url": "https://recorded", APPLIED: "x"})
    listed = ModelArtsService.from_api({"service_id": "sid-1", "status": "running"})
    obs = observation_of(listed, r, shown=False)
    assert obs.endpoint == "https://recorded"
    assert obs.recorded == {}
    counted = resource(spec(), {"instances": {"total": 2, "running": 2, "pending": 0}})
    kept = observation_of(listed, counted, shown=False)
    assert kept.instances == {"total": 2, "running": 2, "pending": 0}  # not erased


def test_external_names_fit_modelarts() -> None:
    assert external_name(spec(), "my.service") == "my-service"
    assert len(external_name(spec(), "a" * 253)) == 64


def test_events_are_read_once_per_status_change_and_posted_once() -> None:
    settled = resource(spec(), {"cloudStatus": "running"})
    assert not wants_events(settled, "running")  # at rest: no call
    assert wants_events(settled, "concerning")
    assert not wants_events(resource(spec()), "deploying")  # first sight: our create said it
    assert wants_events(resource(spec()), "failed")

    page = [
        ServiceEvent("normal", "The service is running.", 3000),
        ServiceEvent("abnormal", "1 instance(s) of model m-1 are unhealthy.", 4000),
        ServiceEvent("normal", "The service starts to deploy.", 1000),
    ]
    seen = resource(spec(), {EVENTS_SEEN: 1000})
    events, recorded = unseen_events(seen, page)
    assert [(e.warning, e.at) for e in events] == [(False, 3000), (True, 4000)]
    assert recorded == {EVENTS_SEEN: 4000}
    assert unseen_events(resource(spec(), {EVENTS_SEEN: 4000}), page) == ((), {})


def test_show_is_asked_when_a_service_settles_anew_not_while_it_changes() -> None:
    r = resource(spec())
    needs = ModelArtsInferenceServiceAdapter._needs_show
    listed = ModelArtsService.from_api
    seen = {APPLIED: f"{applied_fingerprint(r)}@1000", "url": "https://x"}
    deploying = listed({"service_id": "sid-1", "status": "deploying", "transition_at": 2000})
    assert not needs(resource(spec()), deploying)  # nothing recorded, but mid-change
    running = listed({"service_id": "sid-1", "status": "running", "transition_at": 1000})
    assert not needs(resource(spec(), seen), running)  # as last seen: the listing will do
    redeployed = listed({"service_id": "sid-1", "status": "running", "transition_at": 3000})
    assert needs(resource(spec(), seen), redeployed)  # settled anew since
    edited = listed(
        {"service_id": "sid-1", "status": "running", "transition_at": 1000, "operation_time": 4000}
    )
    assert needs(resource(spec(), seen), edited)  # operated on (by anyone) since
    assert needs(resource(spec(description="new"), seen), running)  # the spec moved on
    observe = InferenceServiceSpec.model_validate(
        {
            "providerConfigRef": {"name": "pc"},
            "managementPolicy": "Observe",
            "modelarts": {"serviceId": "sid-1"},
        }
    )
    observed = resource(observe, {APPLIED: "observed@1000", "url": "u"})
    assert not needs(observed, running)
