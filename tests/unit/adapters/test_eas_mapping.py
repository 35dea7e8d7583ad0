"""Pure EAS mapping: names, spec → service config, drift, status mapping."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from cloudinfer.adapters.base import Drift, ManagedResource
from cloudinfer.adapters.eas import (
    config_drift,
    desired_config,
    normalize_name,
    observation_of,
)
from cloudinfer.api.inferenceservice import EAS_SERVICE_NAME, InferenceServiceSpec
from cloudinfer.clouds.alibaba.eas import EasService


def spec(**eas: Any) -> InferenceServiceSpec:
    return InferenceServiceSpec.model_validate(
        {"providerConfigRef": {"name": "pc"}, "eas": {"processor": "p", **eas}}
    )


def observing(s: InferenceServiceSpec) -> InferenceServiceSpec:
    return s.model_copy(update={"management_policy": "Observe", "service_name": "svc"})


def resource(s: InferenceServiceSpec, status: dict[str, Any] | None = None) -> ManagedResource:
    return ManagedResource(
        "InferenceService", "ns", "svc", "uid-1", 1, s, "svc", status=status or {}
    )


@given(st.from_regex(r"[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?", fullmatch=True))
def test_normalized_names_are_valid_eas_names(name: str) -> None:
    import re

    assert re.fullmatch(EAS_SERVICE_NAME, normalize_name(name))


def test_desired_config_typed_fields_win_over_passthrough() -> None:
    s = spec(
        modelPath="oss://m",
        instances=3,
        cpu=2,
        memory=4000,
        gpu=1,
        resourceGroup="rg",
        containers=[
            {
                "image": "img:1",
                "command": "run",
                "port": 8000,
                "env": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}],
            }
        ],
        config={"metadata": {"instance": 9, "rpc": {"keepalive": 5}}, "warm_up": True},
    )
    config = desired_config(s, "svc")
    assert (
        config["name"] == "svc" and config["processor"] == "p" and config["model_path"] == "oss://m"
    )
    assert config["metadata"] == {
        "instance": 3,
        "cpu": 2,
        "memory": 4000,
        "gpu": 1,
        "resource": "rg",
        "rpc": {"keepalive": 5},
    }
    assert config["containers"] == [
        {
            "image": "img:1",
            "script": "run",
            "port": 8000,
            "env": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}],  # spec order
        }
    ]
    assert config["warm_up"] is True


def test_drift_compares_only_what_the_spec_sets() -> None:
    want = desired_config(spec(instances=2, cpu=1), "svc")
    have = {**want, "metadata": {**want["metadata"], "cpu": 1, "added_by_cloud": "x"}, "extra": 1}
    assert config_drift(want, have, autoscaled=False) == []
    have["metadata"]["instance"] = 5
    assert config_drift(want, have, autoscaled=False) == [Drift("metadata.instance", 5, 2)]
    assert config_drift(want, have, autoscaled=True) == []  # the autoscaler owns the count


def service(status: str = "Running", total: int = 2, running: int = 2, **extra: Any) -> EasService:
    base = {
        "ServiceName": "svc",
        "ServiceId": "eas-m-1",
        "Status": status,
        "TotalInstance": total,
        "RunningInstance": running,
        "PendingInstance": total - running,
        "InternetEndpoint": "http://pub/svc",
        "IntranetEndpoint": "http://vpc/svc",
        "AccessToken": "S3CR3T-TOKEN",
        "Labels": [{"LabelKey": "cloudinfer-uid", "LabelValue": "uid-1"}],
        "ServiceConfig": '{"name":"svc","processor":"p","metadata":{"instance":2}}',
        **extra,
    }
    return EasService.from_api(base)


def test_status_mapping() -> None:
    s = spec(instances=2)
    obs = observation_of(service("Creating", 4, 1), resource(spec(instances=4)))
    assert (obs.phase, obs.progress, obs.transitional) == ("Creating", 25, True)
    assert obs.owner_uid == "uid-1" and obs.endpoint == "http://pub/svc"
    assert obs.connection["token"] == "S3CR3T-TOKEN" and "S3CR3T" not in repr(obs)
    running = observation_of(service(), resource(s))
    assert running.up_to_date and running.progress == 100 and not running.transitional
    failed = observation_of(service("Failed", 2, 0, Message="pull image failed"), resource(s))
    assert failed.failed and failed.message == "pull image failed" and failed.progress == 0


def test_stopped_and_autoscaling_drift_in_manage_mode_only() -> None:
    stopped_wanted = spec(instances=2)
    stopped_wanted = stopped_wanted.model_copy(update={"stopped": True})
    obs = observation_of(service(), resource(stopped_wanted))
    assert not obs.up_to_date and [d.path for d in obs.drift] == ["stopped"]
    scaled = spec(instances=2, autoscaling={"min": 1, "max": 3, "threshold": 5})
    assert [d.path for d in observation_of(service(), resource(scaled)).drift] == ["autoscaling"]
    observe = spec(instances=5)
    assert observation_of(service(), resource(observing(observe))).drift == (
        Drift("metadata.instance", 2, 5),
    )
    # Observe mode compares only fields written explicitly (not defaults like instances=1).
    assert observation_of(service(), resource(observing(spec()))).up_to_date


def test_access_token_is_a_secret() -> None:
    assert isinstance(service().access_token, SecretStr) and "S3CR3T" not in repr(service())


def with_secret_env(manage: bool = True) -> InferenceServiceSpec:
    s = InferenceServiceSpec.model_validate(
        {
            "providerConfigRef": {"name": "pc"},
            "eas": {
                "containers": [
                    {
                        "image": "img:1",
                        "env": [
                            {"name": "MODE", "value": "fast"},
                            {
                                "name": "API_KEY",
                                "valueFrom": {"secretKeyRef": {"name": "keys", "key": "api"}},
                            },
                        ],
                    }
                ]
            },
        }
    )
    return s if manage else observing(s)


REF = "spec.eas.containers[0].env[1].valueFrom.secretKeyRef"


def test_secret_key_refs_name_their_path() -> None:
    refs = with_secret_env().secret_key_refs()
    assert [(path, ref.name, ref.key) for path, ref in refs] == [(REF, "keys", "api")]


def test_env_from_a_secret_takes_the_resolved_value_and_a_rotation_is_drift() -> None:
    """The mapping stays pure: the value comes in with the resource (secret_values), the
    drift that a rotated value causes names the path only, and no repr shows the value."""
    s = with_secret_env()
    config = desired_config(s, "svc", {REF: "old-S3CR3T"})
    assert config["containers"][0]["env"] == [
        {"name": "MODE", "value": "fast"},
        {"name": "API_KEY", "value": "old-S3CR3T"},
    ]
    cloud = service(
        ServiceConfig=json.dumps({**config, "metadata": {"instance": 1}}), TotalInstance=1
    )
    res = dataclasses.replace(resource(s), secret_values={REF: "old-S3CR3T"})
    assert "old-S3CR3T" not in repr(res)
    assert observation_of(cloud, res).up_to_date
    rotated = dataclasses.replace(res, secret_values={REF: "new-S3CR3T"})
    obs = observation_of(cloud, rotated)
    assert [d.path for d in obs.drift] == ["containers"]
    assert Drift.describe(obs.drift) == "containers"
    assert "S3CR3T" not in repr(obs) and "S3CR3T" not in str(obs.drift[0])
    # Observe mode compares it too (the user wrote it explicitly).
    observed = dataclasses.replace(rotated, spec=with_secret_env(manage=False))
    assert [d.path for d in observation_of(cloud, observed).drift] == ["containers"]


def test_an_unresolved_reference_is_left_out_not_sent_empty() -> None:
    """Only a deleting resource is reconciled without its Secrets; nothing is sent then,
    but observing must not invent a value."""
    env = desired_config(with_secret_env(), "svc")["containers"][0]["env"]
    assert env == [{"name": "MODE", "value": "fast"}]
