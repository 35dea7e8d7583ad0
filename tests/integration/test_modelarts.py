"""InferenceService on Huawei Cloud ModelArts against the real API server and the emulator:
create → Ready with the service id recorded and the access address as url; a changed weight
and instance count are sent as a config update; stop and start are status updates; delete
waits until the service is gone; a create whose answer is lost makes no duplicate (the
owner marker finds it)."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest

from tests.integration.conftest import DEV_KEY, Cluster, Emulator, Operator
from tests.integration.test_inferenceservice import events, patch_spec, status, wait_phase
from tests.support import wait_for

PLURAL = "inferenceservices"
PROJECT = "0a1b2c3d4e5f"
MODELS = [
    {"modelId": "model-a", "specification": "modelarts.vm.cpu.2u", "weight": 70},
    {
        "modelId": "model-b",
        "customSpec": {"cpu": 1, "memory": 2048},
        "weight": 30,
        "envs": [
            {"name": "MODE", "value": "fast"},
            {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "model-secret", "key": "t"}}},
        ],
    },
]


@pytest.fixture
def modelarts_provider(
    cluster: Cluster, operator: Operator, emulator: Emulator, namespace: str
) -> str:
    cluster.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "huawei-creds", "namespace": namespace},
            "stringData": {"accessKeyId": DEV_KEY[0], "accessKeySecret": DEV_KEY[1]},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "model-secret", "namespace": namespace},
            "stringData": {"t": "tok-123"},
        },
        {
            "apiVersion": "cloudinfer.io/v1alpha1",
            "kind": "ProviderConfig",
            "metadata": {"name": "huawei", "namespace": namespace},
            "spec": {
                "cloud": "huawei-modelarts",
                "region": "cn-north-4",
                "projectId": PROJECT,
                "endpoint": emulator.url,
                "credentialsSecretRef": {"name": "huawei-creds"},
                "pollIntervals": {"transitionalSeconds": 1, "stableSeconds": 10},
            },
        },
    )
    cluster.wait_condition("providerconfigs", "huawei", namespace, "True")
    return "huawei"


def apply(cluster: Cluster, namespace: str, name: str, **modelarts: Any) -> None:
    cluster.apply(
        {
            "apiVersion": "cloudinfer.io/v1alpha1",
            "kind": "InferenceService",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "providerConfigRef": {"name": "huawei"},
                "writeConnectionSecretToRef": {"name": f"{name}-conn"},
                "modelarts": {"models": MODELS, **modelarts},
            },
        }
    )


def cloud_services(emulator: Emulator) -> list[dict[str, Any]]:
    services: list[dict[str, Any]] = emulator.admin("GET", "/modelarts/services")
    return services


def cloud(emulator: Emulator, service_id: str) -> dict[str, Any] | None:
    return next((s for s in cloud_services(emulator) if s["service_id"] == service_id), None)


def running(cluster: Cluster, namespace: str, name: str, timeout: float = 60) -> dict[str, Any]:
    """The status once the phase is Running; on timeout the assertion shows the status."""
    try:
        return wait_for(
            lambda: (s := status(cluster, namespace, name)).get("phase") == "Running" and s,
            timeout,
            f"{name} Running",
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}; status: {status(cluster, namespace, name)}") from None


def test_create_update_stop_start_delete(
    cluster: Cluster, emulator: Emulator, namespace: str, modelarts_provider: str
) -> None:
    name = f"ma-{uuid.uuid4().hex[:8]}"
    apply(cluster, namespace, name, description="two models")
    st = running(cluster, namespace, name)
    cluster.wait_condition(PLURAL, name, namespace, "True")
    service_id = st["serviceId"]
    svc = cloud(emulator, service_id)
    assert svc is not None and svc["status"] == "running"
    assert st["url"] == svc["access_address"] and st["progress"] == 100
    obj = cluster.get(PLURAL, name, namespace)
    assert svc["additional_properties"]["cloudinfer-uid"] == obj["metadata"]["uid"]
    assert svc["config"][1]["envs"] == {"MODE": "fast", "TOKEN": "tok-123"}
    assert "tok-123" not in json.dumps(obj)  # the secret value went to the cloud only
    secret = cluster.core.read_namespaced_secret(f"{name}-conn", namespace).data
    assert base64.b64decode(secret["serviceId"]).decode() == service_id
    assert {"CreatedExternal", "Running"} <= {r for _, r in events(cluster, namespace, name)}

    # A new split and more instances: one config update, then Running again.
    models = json.loads(json.dumps(MODELS))
    models[0]["weight"], models[1]["weight"], models[1]["instanceCount"] = 50, 50, 2
    patch_spec(cluster, namespace, name, {"modelarts": {"models": models}})

    def updated() -> bool:
        s = cloud(emulator, service_id) or {}
        weights = [c["weight"] for c in s.get("config", [])]
        return s.get("status") == "running" and weights == [50, 50]

    wait_for(updated, 60, "the new weights on the cloud")
    wait_phase(cluster, namespace, name, "Running", 60)
    targets = [str(c["target"]) for c in emulator.calls("UpdateService")]
    assert any(service_id in t for t in targets), targets

    patch_spec(cluster, namespace, name, {"stopped": True})
    wait_phase(cluster, namespace, name, "Stopped", 60)
    assert (cloud(emulator, service_id) or {}).get("status") == "stopped"
    patch_spec(cluster, namespace, name, {"stopped": False})
    wait_phase(cluster, namespace, name, "Running", 60)

    cluster.kubectl("delete", "cisvc", name, "-n", namespace, "--wait=false")
    wait_for(
        lambda: (
            not cluster.custom.list_namespaced_custom_object(
                "cloudinfer.io", "v1alpha1", namespace, PLURAL
            )["items"]
        ),
        60,
        f"{name} deleted",
    )
    assert cloud(emulator, service_id) is None


def test_a_lost_create_answer_makes_no_duplicate(
    cluster: Cluster, emulator: Emulator, namespace: str, modelarts_provider: str
) -> None:
    """The create happens but its answer is lost (the emulator drops the connection after
    committing): the reconciler finds the service by its owner marker."""
    name = f"ma-{uuid.uuid4().hex[:8]}"
    emulator.fault(
        kind="drop-response", operation="CreateService", cloud="huawei-modelarts", count=1
    )
    try:
        apply(cluster, namespace, name)
        st = running(cluster, namespace, name, 90)
    finally:
        emulator.clear_faults()
    uid = cluster.get(PLURAL, name, namespace)["metadata"]["uid"]
    mine = [
        s
        for s in cloud_services(emulator)
        if s["additional_properties"].get("cloudinfer-uid") == uid
    ]
    assert [s["service_id"] for s in mine] == [st["serviceId"]]
