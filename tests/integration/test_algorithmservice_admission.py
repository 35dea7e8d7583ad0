"""`AlgorithmService` at admission: the API server itself refuses what VIAS would refuse
(streamCount 1-10,000, id shapes), naming the field; the algorithm id and the observed
service id cannot change; `serviceId` is for Observe only. No operator is needed: these are
the CRD's schema and CEL rules."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.integration.conftest import Cluster

PLURAL = "algorithmservices"
VALID: dict[str, Any] = {
    "providerConfigRef": {"name": "vias"},
    "algId": "068ed4d8-077e-4ec9-aa19-bc0000a0e925",
    "poolId": "ed9f128bf7d04f5683f0ef0000a255",
    "streamCount": 4,
    "deployConfig": {"sub_scene": "common", "nested": {"threshold": 0.5}},
    "envs": [
        {"name": "LOG_LEVEL", "value": "info"},
        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "token"}}},
    ],
}


def manifest(namespace: str, spec: dict[str, Any], name: str = "as") -> str:
    return json.dumps(
        {
            "apiVersion": "cloudinfer.io/v1alpha1",
            "kind": "AlgorithmService",
            "metadata": {"name": name, "namespace": namespace},
            "spec": spec,
        }
    )


def with_change(key: str, value: Any) -> dict[str, Any]:
    """VALID with one top-level field replaced (None: removed)."""
    spec = copy.deepcopy(VALID)
    if value is None:
        del spec[key]
    else:
        spec[key] = value
    return spec


OBSERVE = {"providerConfigRef": {"name": "vias"}, "managementPolicy": "Observe"}


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        (with_change("streamCount", 0), "spec.streamCount"),
        (with_change("streamCount", 10001), "spec.streamCount"),
        (with_change("streamCount", "4"), "spec.streamCount"),
        (with_change("algId", "bad id"), "spec.algId"),
        (with_change("algId", "a" * 65), "spec.algId"),
        (with_change("poolId", "pool/1"), "spec.poolId"),
        (with_change("streamCount", None), "algId and streamCount are required"),
        (with_change("algId", None), "algId and streamCount are required"),
        (with_change("deployConfig", "sub_scene=common"), "spec.deployConfig"),
        (
            with_change("envs", [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]),
            "spec.envs[1]",
        ),
        (with_change("envs", [{"name": "A"}]), "set exactly one of value and valueFrom"),
        (with_change("envs", [{"name": "1 bad", "value": "x"}]), "spec.envs[0].name"),
        ({**VALID, "serviceId": "svc-1"}, "only with managementPolicy Observe"),
        (OBSERVE, "managementPolicy Observe needs serviceId"),
        ({**OBSERVE, "serviceId": "svc 1"}, "spec.serviceId"),
        ({**VALID, "deletionPolicy": "Keep"}, "spec.deletionPolicy"),
    ],
    ids=lambda v: str(v)[:48] if isinstance(v, str) else None,
)
def test_invalid_spec_is_refused_naming_the_field(
    cluster: Cluster, namespace: str, spec: dict[str, Any], words: str
) -> None:
    result = cluster.kubectl("apply", "-f", "-", input=manifest(namespace, spec), check=False)
    assert result.returncode != 0, f"accepted: {spec}"
    assert words in result.stderr, result.stderr


def test_a_valid_spec_is_stored_and_shows_its_columns(cluster: Cluster, namespace: str) -> None:
    cluster.kubectl("apply", "-f", "-", input=manifest(namespace, VALID))
    stored = cluster.get(PLURAL, "as", namespace)["spec"]
    assert stored["deployConfig"] == {"sub_scene": "common", "nested": {"threshold": 0.5}}
    assert stored["stopped"] is False and stored["deletionPolicy"] == "Delete"
    table = cluster.kubectl("get", "cias", "as", "-n", namespace).stdout
    for column in ("ALGORITHM", "PHASE", "STREAMS", "SERVICE", "READY", "SYNCED", "AGE"):
        assert column in table, table
    cluster.kubectl(
        "apply", "-f", "-", input=manifest(namespace, {**OBSERVE, "serviceId": "s-1"}, "obs")
    )


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("algId", "168ed4d8-077e-4ec9-aa19-bc0000a0e925", "algId cannot change"),
        ("providerConfigRef", {"name": "other"}, "providerConfigRef is immutable"),
    ],
)
def test_the_algorithm_cannot_change(
    cluster: Cluster, namespace: str, key: str, value: Any, words: str
) -> None:
    cluster.kubectl("apply", "-f", "-", input=manifest(namespace, VALID, "im"))
    result = cluster.kubectl(
        "apply", "-f", "-", input=manifest(namespace, with_change(key, value), "im"), check=False
    )
    assert result.returncode != 0
    assert words in result.stderr, result.stderr


def test_the_observed_service_cannot_change(cluster: Cluster, namespace: str) -> None:
    cluster.kubectl(
        "apply", "-f", "-", input=manifest(namespace, {**OBSERVE, "serviceId": "s-1"}, "ob")
    )
    result = cluster.kubectl(
        "apply", "-f", "-", input=manifest(namespace, {**OBSERVE, "serviceId": "s-2"}, "ob"),
        check=False,
    )  # fmt: skip
    assert result.returncode != 0 and "serviceId cannot change" in result.stderr, result.stderr


def test_what_redeploys_can_change(cluster: Cluster, namespace: str) -> None:
    cluster.kubectl("apply", "-f", "-", input=manifest(namespace, VALID, "ok"))
    changed = {**VALID, "streamCount": 10000, "deployConfig": {"x": 1}, "envs": [], "stopped": True}
    cluster.kubectl("apply", "-f", "-", input=manifest(namespace, changed, "ok"))
    assert cluster.get(PLURAL, "ok", namespace)["spec"]["streamCount"] == 10000


def test_explain_documents_every_field(cluster: Cluster) -> None:
    out = cluster.kubectl("explain", "algorithmservice.spec", "--recursive=false").stdout
    for field in (
        "algId",
        "poolId",
        "streamCount",
        "deployConfig",
        "envs",
        "stopped",
        "serviceId",
        "deletionPolicy",
    ):
        assert field in out, out
    explained = cluster.kubectl("explain", "algorithmservice.spec.stopped").stdout
    assert "StopDeployAlgorithm" in explained
