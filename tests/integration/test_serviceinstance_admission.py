"""`ServiceInstance` at admission: the API server itself refuses what DataArts Fabric would
refuse (seed 001's bounds), naming the field, and what Fabric cannot change on an instance
is immutable with a message saying to create a new one. No operator is needed: these are
the CRD's schema and CEL rules."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.integration.conftest import Cluster

PLURAL = "serviceinstances"
VALID: dict[str, Any] = {
    "providerConfigRef": {"name": "fabric"},
    "workspaceId": "ws-1",
    "endpointId": "ep-llama-1",
    "source": {"id": "model-1", "versionId": "v-1"},
    "name": "chat bot_v1.0",
    "description": "An instance (for tests)",
    "resource": {"min": 1, "max": 2, "specCode": "mu.llama3.8b"},
}


def manifest(namespace: str, spec: dict[str, Any], name: str = "si") -> str:
    return json.dumps(
        {
            "apiVersion": "cloudinfer.io/v1alpha1",
            "kind": "ServiceInstance",
            "metadata": {"name": name, "namespace": namespace},
            "spec": spec,
        }
    )


def with_change(path: str, value: Any) -> dict[str, Any]:
    """VALID with the value at a dotted path replaced (None: removed)."""
    spec = copy.deepcopy(VALID)
    node: Any = spec
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[part]
    if value is None:
        del node[parts[-1]]
    else:
        node[parts[-1]] = value
    return spec


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        (with_change("endpointId", "bad_id"), "spec.endpointId"),
        (with_change("endpointId", "x" * 37), "spec.endpointId"),
        (with_change("workspaceId", "ws 1"), "spec.workspaceId"),
        (with_change("source.id", "m/1"), "spec.source.id"),
        (with_change("source.versionId", "v" * 37), "spec.source.versionId"),
        (with_change("name", "bad!name"), "spec.name"),
        (with_change("name", "n" * 65), "spec.name"),
        (with_change("description", "a <b>"), "spec.description"),
        (with_change("description", "x" * 897), "spec.description"),
        (with_change("resource.min", 0), "spec.resource.min"),
        (with_change("resource.max", 1001), "spec.resource.max"),
        (
            with_change("resource", {"min": 3, "max": 2, "specCode": "mu"}),
            "resource.max must be greater than or equal to resource.min",
        ),
        (with_change("resource.specCode", "s" * 65), "spec.resource.specCode"),
        (with_change("endpointId", None), "endpointId, source and resource are required"),
        (with_change("resource", None), "endpointId, source and resource are required"),
        ({**VALID, "instanceId": "abc"}, "only with managementPolicy Observe"),
        ({**VALID, "managementPolicy": "Observe"}, "instanceId is required"),
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
    stored = cluster.get(PLURAL, "si", namespace)["spec"]
    assert stored["resource"] == {"min": 1, "max": 2, "specCode": "mu.llama3.8b"}
    table = cluster.kubectl("get", "cisi", "si", "-n", namespace).stdout
    for column in ("PHASE", "ENDPOINT", "MIN", "MAX", "URL", "READY", "SYNCED", "AGE"):
        assert column in table, table
    assert "ep-llama-1" in table


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("endpointId", "ep-other"),
        ("resource.min", 2),
        ("resource.specCode", "mu.other"),
        ("source.versionId", "v-2"),
        ("source.id", "model-2"),
        ("workspaceId", "ws-2"),
    ],
)
def test_what_fabric_cannot_change_is_immutable(
    cluster: Cluster, namespace: str, path: str, value: Any
) -> None:
    cluster.kubectl("apply", "-f", "-", input=manifest(namespace, VALID, "im"))
    result = cluster.kubectl(
        "apply", "-f", "-", input=manifest(namespace, with_change(path, value), "im"), check=False
    )
    assert result.returncode != 0
    assert f"{path} cannot change on an existing instance" in result.stderr, result.stderr
    assert "create a new ServiceInstance" in result.stderr


def test_what_fabric_can_change_is_accepted(cluster: Cluster, namespace: str) -> None:
    cluster.kubectl("apply", "-f", "-", input=manifest(namespace, VALID, "ok"))
    changed = with_change("resource.max", 5)
    changed["name"], changed["description"] = "renamed", "new words"
    cluster.kubectl("apply", "-f", "-", input=manifest(namespace, changed, "ok"))
    assert cluster.get(PLURAL, "ok", namespace)["spec"]["resource"]["max"] == 5


def test_explain_documents_every_field(cluster: Cluster) -> None:
    out = cluster.kubectl("explain", "serviceinstance.spec", "--recursive=false").stdout
    for field in ("endpointId", "source", "resource", "name", "description", "instanceId"):
        assert field in out, out
    explained = cluster.kubectl("explain", "serviceinstance.spec.resource.max").stdout
    assert "endpoint's own maximum" in explained
