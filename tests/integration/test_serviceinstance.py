"""ServiceInstance on Huawei DataArts Fabric against the real API server and the emulator:
deploy → Ready with the url and the instance id; a larger `max` is an update; the endpoint's
capacity is checked before deploying (refused with the numbers, no DeployServiceInstance
call), and an instance waiting for room deploys once another shrinks; delete waits until the
instance is gone; Observe by `instanceId`."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest

from tests.integration.conftest import DEV_KEY, Cluster, Emulator, Operator
from tests.integration.test_inferenceservice import events
from tests.support import wait_for

PLURAL = "serviceinstances"


@pytest.fixture
def workspace() -> str:
    """A workspace of this test's own: the emulator's listing of it is this test's only."""
    return f"ws-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def fabric_provider(
    cluster: Cluster, operator: Operator, emulator: Emulator, namespace: str, workspace: str
) -> str:
    cluster.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "fabric-creds", "namespace": namespace},
            "stringData": {"accessKeyId": DEV_KEY[0], "accessKeySecret": DEV_KEY[1]},
        },
        {
            "apiVersion": "cloudinfer.io/v1alpha1",
            "kind": "ProviderConfig",
            "metadata": {"name": "fabric", "namespace": namespace},
            "spec": {
                "cloud": "huawei-fabric",
                "region": "cn-north-4",
                "workspaceId": workspace,
                "endpoint": emulator.url,
                "credentialsSecretRef": {"name": "fabric-creds"},
                "pollIntervals": {"transitionalSeconds": 1, "stableSeconds": 10},
            },
        },
    )
    cluster.wait_condition("providerconfigs", "fabric", namespace, "True")
    return "fabric"


def endpoint(emulator: Emulator, workspace: str, limit: int) -> str:
    endpoint_id = f"ep-{uuid.uuid4().hex[:8]}"
    emulator.admin(
        "PUT",
        f"/fabric/endpoints/{endpoint_id}",
        {"workspace": workspace, "spec_code": "mu.llama3.8b", "max": limit},
    )
    return endpoint_id


def apply(
    cluster: Cluster, namespace: str, name: str, endpoint_id: str, low: int, high: int
) -> None:
    cluster.apply(
        {
            "apiVersion": "cloudinfer.io/v1alpha1",
            "kind": "ServiceInstance",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "providerConfigRef": {"name": "fabric"},
                "writeConnectionSecretToRef": {"name": f"{name}-conn"},
                "endpointId": endpoint_id,
                "source": {"id": "llama3-8b", "versionId": "v1"},
                "description": "test instance",
                "resource": {"min": low, "max": high, "specCode": "mu.llama3.8b"},
            },
        }
    )


def status(cluster: Cluster, namespace: str, name: str, plural: str = PLURAL) -> dict[str, Any]:
    return dict(cluster.get(plural, name, namespace).get("status") or {})


def instances(emulator: Emulator, workspace: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = emulator.admin("GET", f"/fabric/instances?workspace={workspace}")
    return found


def cloud(emulator: Emulator, workspace: str, instance_id: str) -> dict[str, Any] | None:
    return next((i for i in instances(emulator, workspace) if i["id"] == instance_id), None)


def deploys(emulator: Emulator, *names: str) -> list[dict[str, Any]]:
    """DeployServiceInstance calls for these instance names (what the call log names)."""
    return [c for c in emulator.calls("DeployServiceInstance") if c["target"] in names]


def ready(cluster: Cluster, namespace: str, name: str, timeout: float = 60) -> dict[str, Any]:
    cluster.wait_condition(PLURAL, name, namespace, "True", timeout=timeout)
    return status(cluster, namespace, name, PLURAL)


def test_deploy_resize_delete(
    cluster: Cluster, emulator: Emulator, namespace: str, workspace: str, fabric_provider: str
) -> None:
    ep = endpoint(emulator, workspace, 4)
    name = f"si-{uuid.uuid4().hex[:8]}"
    apply(cluster, namespace, name, ep, 1, 2)
    st = ready(cluster, namespace, name)
    instance_id = st["instanceId"]
    inst = cloud(emulator, workspace, instance_id)
    assert inst is not None and inst["status"] == "RUNNING"
    uid = cluster.get(PLURAL, name, namespace)["metadata"]["uid"]
    assert inst["description"] == f"test instance [cloudinfer-uid: {uid} ns: {namespace}]"
    assert st["phase"] == "Running" and st["url"] == inst["url"]["address"]
    assert st["instances"] == {"min": 1, "max": 2}
    secret = cluster.core.read_namespaced_secret(f"{name}-conn", namespace).data
    assert base64.b64decode(secret["instanceId"]).decode() == instance_id

    cluster.kubectl(
        "patch", "cisi", name, "-n", namespace, "--type=merge", "-p",
        '{"spec": {"resource": {"max": 3}}}',
    )  # fmt: skip
    wait_for(
        lambda: (
            (i := cloud(emulator, workspace, instance_id))
            and i["status"] == "RUNNING"
            and i["config"]["model_instance_config"]["resource"]["max"] == 3
        ),
        60,
        "max 3 on the cloud",
    )
    wait_for(
        lambda: status(cluster, namespace, name, PLURAL).get("instances", {}).get("max") == 3,
        60,
        "max 3 in status",
    )
    cluster.wait_condition(PLURAL, name, namespace, "True")

    cluster.kubectl("delete", "cisi", name, "-n", namespace, "--wait=true", "--timeout=60s")
    assert cloud(emulator, workspace, instance_id) is None
    assert len(deploys(emulator, name)) == 1


def test_capacity_is_checked_before_deploying_and_a_waiting_instance_deploys_when_room_frees(
    cluster: Cluster, emulator: Emulator, namespace: str, workspace: str, fabric_provider: str
) -> None:
    ep = endpoint(emulator, workspace, 4)
    first, second = f"si-a-{uuid.uuid4().hex[:6]}", f"si-b-{uuid.uuid4().hex[:6]}"
    apply(cluster, namespace, first, ep, 1, 3)
    ready(cluster, namespace, first)
    apply(cluster, namespace, second, ep, 1, 2)
    cond = cluster.wait_condition(
        PLURAL, second, namespace, "False", reason="EndpointCapacityExceeded", timeout=60
    )
    for number in ("4", "3", "2"):
        assert number in cond["message"], cond
    assert len(deploys(emulator, first, second)) == 1  # refused before any call for the second
    assert ("Warning", "EndpointCapacityExceeded") in events(cluster, namespace, second)

    # The first shrinks: the second finds room at its next check and deploys.
    cluster.kubectl(
        "patch", "cisi", first, "-n", namespace, "--type=merge", "-p",
        '{"spec": {"resource": {"max": 2}}}',
    )  # fmt: skip
    ready(cluster, namespace, second, timeout=120)
    assert len(deploys(emulator, first, second)) == 2
    held = sum(
        i["config"]["model_instance_config"]["resource"]["max"]
        for i in instances(emulator, workspace)
    )
    assert held == 4


def test_observe_an_existing_instance_by_id(
    cluster: Cluster, emulator: Emulator, namespace: str, workspace: str, fabric_provider: str
) -> None:
    ep = endpoint(emulator, workspace, 4)
    made = f"si-{uuid.uuid4().hex[:8]}"
    apply(cluster, namespace, made, ep, 1, 1)
    instance_id = ready(cluster, namespace, made)["instanceId"]
    name = f"si-obs-{uuid.uuid4().hex[:6]}"
    cluster.apply(
        {
            "apiVersion": "cloudinfer.io/v1alpha1",
            "kind": "ServiceInstance",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "providerConfigRef": {"name": "fabric"},
                "managementPolicy": "Observe",
                "instanceId": instance_id,
            },
        }
    )
    st = ready(cluster, namespace, name)
    assert st["instanceId"] == instance_id and st["url"]
    cluster.kubectl("delete", "cisi", name, "-n", namespace, "--wait=true", "--timeout=60s")
    assert cloud(emulator, workspace, instance_id) is not None  # Observe never deletes
