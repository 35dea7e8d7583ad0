"""`InferenceService.spec.modelarts` at admission: the API server itself refuses what ModelArts
would refuse (and a second cloud block), naming the field; a valid spec is stored with its
defaults. No operator is needed: these are the CRD's schema and CEL rules."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.integration.conftest import Cluster

VALID: dict[str, Any] = {
    "providerConfigRef": {"name": "huawei"},
    "modelarts": {
        "models": [
            {"modelId": "model-a", "specification": "modelarts.vm.cpu.2u", "weight": 70},
            {
                "modelId": "model-b",
                "customSpec": {"cpu": 1.5, "memory": 4096},
                "instanceCount": 2,
                "weight": 30,
                "envs": [{"name": "MODE", "value": "fast"}],
            },
        ],
        "description": "A two-model service",
        "schedule": {"duration": 2, "timeUnit": "HOURS"},
        "additionalProperties": {"team": "search"},
    },
}


def manifest(namespace: str, spec: dict[str, Any], name: str = "ma") -> str:
    return json.dumps(
        {
            "apiVersion": "cloudinfer.io/v1alpha1",
            "kind": "InferenceService",
            "metadata": {"name": name, "namespace": namespace},
            "spec": spec,
        }
    )


def with_change(path: str, value: Any) -> dict[str, Any]:
    """VALID with the value at a dotted path (list indices as numbers) replaced."""
    spec = copy.deepcopy(VALID)
    node: Any = spec
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node[part]
    last = parts[-1]
    if value is None:
        del node[last]
    elif last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return spec


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        (with_change("modelarts.inferType", "batch"), "only real-time services are supported"),
        (with_change("modelarts.models.0.weight", 60), "weights of models must sum to 100"),
        (with_change("modelarts.description", "no <tags>"), "spec.modelarts.description"),
        (with_change("modelarts.description", "x" * 101), "spec.modelarts.description"),
        (with_change("modelarts.models.1.instanceCount", 129), "instanceCount"),
        (with_change("modelarts.models.1.instanceCount", 0), "instanceCount"),
        (
            with_change("modelarts.models.0.customSpec", {"cpu": 1, "memory": 1024}),
            "set exactly one of specification and customSpec",
        ),
        (with_change("modelarts.models.1.customSpec.cpu", 0.001), "customSpec.cpu"),
        (with_change("modelarts.models", []), "spec.modelarts.models"),
        (with_change("modelarts.models.0.modelId", "bad id!"), "modelId"),
        (
            with_change("modelarts.models.1.envs", [{"name": "A"}]),
            "set exactly one of value and valueFrom",
        ),
        (with_change("serviceName", "x" * 65), "spec.serviceName"),
        (with_change("modelarts", None), "set exactly one of eas"),
        (
            {**VALID, "eas": {"processor": "pmml", "modelPath": "oss://m"}},
            "set exactly one of eas",
        ),
        ({**VALID, "cloneFrom": {"serviceName": "other"}}, "cloneFrom is for PAI-EAS"),
        (with_change("modelarts.schedule", {"duration": 0}), "schedule.duration"),
        (with_change("modelarts.models", None), "models is required"),
        (with_change("modelarts.serviceId", "abc-123"), "only with managementPolicy Observe"),
        (
            {**VALID, "managementPolicy": "Observe"},
            "modelarts.serviceId is required when managementPolicy is Observe",
        ),
    ],
    ids=lambda v: str(v)[:48] if isinstance(v, str) else None,
)
def test_invalid_modelarts_spec_is_refused_naming_the_field(
    cluster: Cluster, namespace: str, spec: dict[str, Any], words: str
) -> None:
    result = cluster.kubectl("apply", "-f", "-", input=manifest(namespace, spec), check=False)
    assert result.returncode != 0, f"accepted: {spec}"
    assert words in result.stderr, result.stderr


def test_an_eas_service_name_keeps_its_own_rule(cluster: Cluster, namespace: str) -> None:
    spec = {
        "providerConfigRef": {"name": "eas"},
        "serviceName": "Has-Upper",
        "eas": {"processor": "pmml", "modelPath": "oss://m"},
    }
    result = cluster.kubectl("apply", "-f", "-", input=manifest(namespace, spec), check=False)
    assert result.returncode != 0
    assert "serviceName on PAI-EAS" in result.stderr, result.stderr


def test_a_valid_spec_is_stored_with_defaults_and_its_cloud_cannot_change(
    cluster: Cluster, namespace: str
) -> None:
    cluster.kubectl("apply", "-f", "-", input=manifest(namespace, VALID))
    stored = cluster.get("inferenceservices", "ma", namespace)["spec"]["modelarts"]
    assert stored["inferType"] == "real-time"
    assert stored["models"][0]["instanceCount"] == 1
    switched = {
        "providerConfigRef": {"name": "huawei"},
        "eas": {"processor": "pmml", "modelPath": "oss://m"},
    }
    result = cluster.kubectl("apply", "-f", "-", input=manifest(namespace, switched), check=False)
    assert result.returncode != 0
    assert "cannot change: create a new resource" in result.stderr, result.stderr


def test_an_observed_service_id_needs_no_models_and_cannot_change(
    cluster: Cluster, namespace: str
) -> None:
    observe = {
        "providerConfigRef": {"name": "huawei"},
        "managementPolicy": "Observe",
        "modelarts": {"serviceId": "abc-123"},
    }
    cluster.kubectl("apply", "-f", "-", input=manifest(namespace, observe, "obs"))
    observe["modelarts"] = {"serviceId": "abc-456"}
    result = cluster.kubectl(
        "apply", "-f", "-", input=manifest(namespace, observe, "obs"), check=False
    )
    assert result.returncode != 0
    assert "modelarts.serviceId is immutable" in result.stderr, result.stderr
