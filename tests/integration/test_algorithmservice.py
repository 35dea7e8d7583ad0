"""AlgorithmService on Huawei Cloud VIAS against the real API server and the emulator:
deploy → Ready with the service's APIs; a streamCount change redeploys; stop and start;
deleting stops the deployment and then releases the finalizer; Orphan leaves it running;
Observe by `serviceId`; a deployment the operator did not make is a NameConflict; a deploy
the cloud fails is DeployFailed.

Each test has a VIAS project of its own (the provider config's projectId), with its own
algorithms seeded through the emulator's admin API: the emulator's listing of that project
is the test's only."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import kubernetes
import pytest

from tests.integration.conftest import DEV_KEY, Cluster, Emulator, Operator
from tests.support import wait_for

PLURAL = "algorithmservices"


@pytest.fixture
def project() -> str:
    return uuid.uuid4().hex


@pytest.fixture
def vias_provider(
    cluster: Cluster, operator: Operator, emulator: Emulator, namespace: str, project: str
) -> str:
    cluster.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "vias-creds", "namespace": namespace},
            "stringData": {"accessKeyId": DEV_KEY[0], "accessKeySecret": DEV_KEY[1]},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "vias-env", "namespace": namespace},
            "stringData": {"token": "s3cr3t-webhook-token"},
        },
        {
            "apiVersion": "cloudinfer.io/v1alpha1",
            "kind": "ProviderConfig",
            "metadata": {"name": "vias", "namespace": namespace},
            "spec": {
                "cloud": "huawei-vias",
                "region": "cn-north-4",
                "projectId": project,
                "endpoint": emulator.url,
                "credentialsSecretRef": {"name": "vias-creds"},
                "pollIntervals": {"transitionalSeconds": 1, "stableSeconds": 10},
            },
        },
    )
    cluster.wait_condition("providerconfigs", "vias", namespace, "True")
    return "vias"


def algorithm(emulator: Emulator, project: str, name: str = "Intrusion Detection") -> str:
    """An algorithm of the test's project; its id."""
    alg_id = str(uuid.uuid4())
    emulator.admin("PUT", f"/vias/algorithms/{alg_id}", {"project": project, "name": name})
    return alg_id


def services(emulator: Emulator, project: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = emulator.admin("GET", f"/vias/services?project={project}")
    return found


def cloud(emulator: Emulator, project: str, alg_id: str) -> dict[str, Any]:
    return next(s for s in services(emulator, project) if s["alg_id"] == alg_id)


def calls(emulator: Emulator, operation: str, target: str) -> list[dict[str, Any]]:
    return [c for c in emulator.calls(operation) if c["target"] == target]


def apply(cluster: Cluster, namespace: str, name: str, **spec: Any) -> None:
    cluster.apply(
        {
            "apiVersion": "cloudinfer.io/v1alpha1",
            "kind": "AlgorithmService",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"providerConfigRef": {"name": "vias"}, **spec},
        }
    )


def status(cluster: Cluster, namespace: str, name: str) -> dict[str, Any]:
    return dict(cluster.get(PLURAL, name, namespace).get("status") or {})


def reason(cluster: Cluster, namespace: str, name: str) -> str:
    for condition in status(cluster, namespace, name).get("conditions") or []:
        if condition["type"] == "Ready":
            return str(condition["reason"])
    return ""


def patch(cluster: Cluster, namespace: str, name: str, body: str) -> None:
    cluster.kubectl("patch", "cias", name, "-n", namespace, "--type=merge", "-p", body)


def gone(cluster: Cluster, namespace: str, name: str) -> bool:
    try:
        cluster.get(PLURAL, name, namespace)
    except kubernetes.client.ApiException as exc:
        if exc.status == 404:
            return True
        raise
    return False


def delete(cluster: Cluster, namespace: str, name: str) -> None:
    """Ask for deletion; the operator keeps its finalizer until the deployment stopped."""
    cluster.kubectl("delete", "cias", name, "-n", namespace, "--wait=false")


def test_deploy_redeploy_stop_start_delete(
    cluster: Cluster, emulator: Emulator, namespace: str, project: str, vias_provider: str
) -> None:
    alg = algorithm(emulator, project)
    name = f"as-{uuid.uuid4().hex[:8]}"
    apply(
        cluster,
        namespace,
        name,
        algId=alg,
        poolId="pool-1",
        streamCount=2,
        deployConfig={"sub_scene": "common", "threshold": 0.5},
        envs=[
            {"name": "LOG_LEVEL", "value": "info"},
            {
                "name": "WEBHOOK_TOKEN",
                "valueFrom": {"secretKeyRef": {"name": "vias-env", "key": "token"}},
            },
        ],
        writeConnectionSecretToRef={"name": f"{name}-conn"},
    )  # fmt: skip
    cluster.wait_condition(PLURAL, name, namespace, "True", timeout=60)
    st = status(cluster, namespace, name)
    svc = cloud(emulator, project, alg)
    assert svc["alg_status"] == "service_running" and svc["pool_id"] == "pool-1"
    assert svc["stream_count"] == 2
    assert svc["deploy_config"] == {"sub_scene": "common", "threshold": 0.5}
    assert svc["envs"] == {"LOG_LEVEL": "info", "WEBHOOK_TOKEN": "s3cr3t-webhook-token"}
    assert st["phase"] == "Running" and st["cloudStatus"] == "service_running"
    assert st["algId"] == alg and st["serviceId"] == svc["service_id"]
    assert st["algorithm"]["name"] == "Intrusion Detection"
    apis = st["serviceApis"]
    assert apis and [a["url"] for a in apis] == [a["request_url"] for a in svc["service_api_list"]]
    assert st["endpoints"] and st["url"].endswith(apis[0]["url"])
    assert st["deploymentConstraints"]["cpuType"]
    assert "s3cr3t" not in str(cluster.get(PLURAL, name, namespace))  # env values stay out
    secret = cluster.core.read_namespaced_secret(f"{name}-conn", namespace).data
    assert base64.b64decode(secret["serviceId"]).decode() == svc["service_id"]
    assert len(calls(emulator, "DeployAlgorithm", alg)) == 1

    patch(cluster, namespace, name, '{"spec": {"streamCount": 5}}')
    wait_for(
        lambda: (
            (s := cloud(emulator, project, alg))["stream_count"] == 5
            and s["alg_status"] == "service_running"
        ),
        60,
        "5 streams on the cloud",
    )
    cluster.wait_condition(PLURAL, name, namespace, "True", timeout=60)
    assert len(calls(emulator, "DeployAlgorithm", alg)) == 2
    assert cloud(emulator, project, alg)["deploy_config"] == {
        "sub_scene": "common",
        "threshold": 0.5,
    }

    patch(cluster, namespace, name, '{"spec": {"stopped": true}}')
    wait_for(
        lambda: status(cluster, namespace, name).get("phase") == "Stopped",
        60,
        "the deployment stopped",
    )
    assert cloud(emulator, project, alg)["alg_status"] == "service_stopped"
    wait_for(lambda: reason(cluster, namespace, name) == "Stopped", 30, "Ready=False Stopped")

    patch(cluster, namespace, name, '{"spec": {"stopped": false}}')
    cluster.wait_condition(PLURAL, name, namespace, "True", timeout=60)
    assert cloud(emulator, project, alg)["alg_status"] == "service_running"
    assert len(calls(emulator, "DeployAlgorithm", alg)) == 3
    stops = len(calls(emulator, "StopDeployAlgorithm", alg))

    delete(cluster, namespace, name)
    wait_for(lambda: gone(cluster, namespace, name), 60, "the finalizer released")
    assert cloud(emulator, project, alg)["alg_status"] == "service_stopped"
    assert len(calls(emulator, "StopDeployAlgorithm", alg)) == stops + 1
    assert len(calls(emulator, "DeployAlgorithm", alg)) == 3


def test_orphan_leaves_the_deployment_running(
    cluster: Cluster, emulator: Emulator, namespace: str, project: str, vias_provider: str
) -> None:
    alg = algorithm(emulator, project)
    name = f"as-{uuid.uuid4().hex[:8]}"
    apply(
        cluster, namespace, name, algId=alg, poolId="pool-1", streamCount=1,
        deletionPolicy="Orphan",
    )  # fmt: skip
    cluster.wait_condition(PLURAL, name, namespace, "True", timeout=60)
    delete(cluster, namespace, name)
    wait_for(lambda: gone(cluster, namespace, name), 60, "the finalizer released")
    assert cloud(emulator, project, alg)["alg_status"] == "service_running"
    assert calls(emulator, "StopDeployAlgorithm", alg) == []


def test_observe_by_service_id_is_read_only(
    cluster: Cluster, emulator: Emulator, namespace: str, project: str, vias_provider: str
) -> None:
    alg = algorithm(emulator, project, "Crowd Counting")
    svc = cloud(emulator, project, alg)
    emulator.admin("PUT", f"/vias/services/{svc['service_id']}", {"alg_status": "service_running"})
    name = f"as-{uuid.uuid4().hex[:8]}"
    apply(cluster, namespace, name, managementPolicy="Observe", serviceId=svc["service_id"])
    cluster.wait_condition(PLURAL, name, namespace, "True", timeout=60)
    st = status(cluster, namespace, name)
    assert st["serviceId"] == svc["service_id"] and st["algId"] == alg
    assert st["algorithm"]["name"] == "Crowd Counting" and st["serviceApis"]
    # A change on the cloud shows (the alias the snapshot keeps is read at each listing).
    emulator.admin(
        "PUT",
        f"/vias/services/{svc['service_id']}",
        {"alg_status": "service_concerning", "error_msg": "camera 3 offline"},
    )
    wait_for(lambda: status(cluster, namespace, name).get("phase") == "Degraded", 60, "Degraded")
    assert "camera 3 offline" in status(cluster, namespace, name)["message"]
    delete(cluster, namespace, name)
    wait_for(lambda: gone(cluster, namespace, name), 60, "released")
    assert cloud(emulator, project, alg)["alg_status"] == "service_concerning"
    assert calls(emulator, "DeployAlgorithm", alg) == []
    assert calls(emulator, "StopDeployAlgorithm", alg) == []

    missing = f"as-{uuid.uuid4().hex[:8]}"
    apply(cluster, namespace, missing, managementPolicy="Observe", serviceId=str(uuid.uuid4()))
    wait_for(
        lambda: reason(cluster, namespace, missing) == "ExternalNotFound", 60, "ExternalNotFound"
    )


def test_a_deployment_made_elsewhere_is_a_name_conflict(
    cluster: Cluster, emulator: Emulator, namespace: str, project: str, vias_provider: str
) -> None:
    alg = algorithm(emulator, project)
    svc = cloud(emulator, project, alg)
    emulator.admin("PUT", f"/vias/services/{svc['service_id']}", {"alg_status": "service_running"})
    first, second = (f"as-{uuid.uuid4().hex[:8]}" for _ in range(2))
    apply(cluster, namespace, first, algId=alg, poolId="pool-1", streamCount=3)
    wait_for(lambda: reason(cluster, namespace, first) == "NameConflict", 60, "NameConflict")
    assert calls(emulator, "DeployAlgorithm", alg) == []

    # Taken over on request, then deployed with the spec's settings once changed.
    cluster.kubectl("annotate", "cias", first, "-n", namespace, "cloudinfer.io/adopt=true")
    cluster.wait_condition(PLURAL, first, namespace, "True", timeout=60)
    patch(cluster, namespace, first, '{"spec": {"streamCount": 4}}')
    wait_for(lambda: cloud(emulator, project, alg)["stream_count"] == 4, 60, "redeployed")
    wait_for(lambda: cloud(emulator, project, alg)["alg_status"] == "service_running", 60, "up")

    # A second resource naming the same algorithm is refused, and never deploys.
    deploys = len(calls(emulator, "DeployAlgorithm", alg))
    apply(cluster, namespace, second, algId=alg, poolId="pool-1", streamCount=9)
    wait_for(lambda: reason(cluster, namespace, second) == "NameConflict", 60, "NameConflict")
    delete(cluster, namespace, second)
    wait_for(lambda: gone(cluster, namespace, second), 60, "released")
    assert len(calls(emulator, "DeployAlgorithm", alg)) == deploys
    assert cloud(emulator, project, alg)["alg_status"] == "service_running"


def test_a_resource_refused_for_a_held_algorithm_deploys_once_the_holder_is_deleted(
    cluster: Cluster, emulator: Emulator, namespace: str, project: str, vias_provider: str
) -> None:
    """No edit and no resync needed: deleting the holder wakes the resource waiting for
    the algorithm."""
    alg = algorithm(emulator, project)
    first, second = (f"as-{uuid.uuid4().hex[:8]}" for _ in range(2))
    apply(cluster, namespace, first, algId=alg, poolId="pool-1", streamCount=2)
    cluster.wait_condition(PLURAL, first, namespace, "True", timeout=60)
    apply(cluster, namespace, second, algId=alg, poolId="pool-1", streamCount=5)
    wait_for(lambda: reason(cluster, namespace, second) == "NameConflict", 60, "NameConflict")
    delete(cluster, namespace, first)
    wait_for(lambda: gone(cluster, namespace, first), 60, "the holder stopped and released")
    try:
        cluster.wait_condition(PLURAL, second, namespace, "True", timeout=60)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{status(cluster, namespace, second)}") from None
    assert cloud(emulator, project, alg)["stream_count"] == 5


def test_a_deployment_another_namespace_recorded_is_never_taken_or_stopped(
    cluster: Cluster, emulator: Emulator, namespace: str, project: str, vias_provider: str
) -> None:
    """VIAS keeps no owner mark: the resource that recorded the algorithm id owns it, across
    namespaces and provider configs of one project, even while it is stopped."""
    alg = algorithm(emulator, project)
    owner = f"as-{uuid.uuid4().hex[:8]}"
    apply(cluster, namespace, owner, algId=alg, poolId="pool-1", streamCount=2)
    cluster.wait_condition(PLURAL, owner, namespace, "True", timeout=60)
    patch(cluster, namespace, owner, '{"spec": {"stopped": true}}')
    wait_for(lambda: cloud(emulator, project, alg)["alg_status"] == "service_stopped", 60, "stop")
    deploys = len(calls(emulator, "DeployAlgorithm", alg))

    other = f"t-{uuid.uuid4().hex[:10]}"
    cluster.core.create_namespace({"metadata": {"name": other}})
    intruder = f"as-{uuid.uuid4().hex[:8]}"
    try:
        cluster.apply(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "vias-creds", "namespace": other},
                "stringData": {"accessKeyId": DEV_KEY[0], "accessKeySecret": DEV_KEY[1]},
            },
            {
                "apiVersion": "cloudinfer.io/v1alpha1",
                "kind": "ProviderConfig",
                "metadata": {"name": "vias", "namespace": other},
                "spec": {  # the same project; other settings, so another account object
                    "cloud": "huawei-vias",
                    "region": "cn-north-4",
                    "projectId": project,
                    "endpoint": emulator.url,
                    "credentialsSecretRef": {"name": "vias-creds"},
                    "pollIntervals": {"transitionalSeconds": 2, "stableSeconds": 20},
                },
            },
        )
        cluster.wait_condition("providerconfigs", "vias", other, "True")
        apply(cluster, other, intruder, algId=alg, poolId="pool-9", streamCount=9)
        wait_for(lambda: reason(cluster, other, intruder) == "NameConflict", 60, "NameConflict")
        assert namespace not in status(cluster, other, intruder).get("message", "")
        assert len(calls(emulator, "DeployAlgorithm", alg)) == deploys  # not taken
        assert cloud(emulator, project, alg)["alg_status"] == "service_stopped"
        # Nor mirrored from there: Observe follows the cross-namespace rule of adoption.
        mirror = f"as-{uuid.uuid4().hex[:8]}"
        service_id = cloud(emulator, project, alg)["service_id"]
        apply(cluster, other, mirror, managementPolicy="Observe", serviceId=service_id)
        wait_for(lambda: reason(cluster, other, mirror) == "CrossNamespaceAdoption", 60, "refused")
        assert "serviceApis" not in status(cluster, other, mirror)

        # The owner starts it again with its own settings; the other never stops it.
        patch(cluster, namespace, owner, '{"spec": {"stopped": false}}')
        cluster.wait_condition(PLURAL, owner, namespace, "True", timeout=60)
        assert cloud(emulator, project, alg)["stream_count"] == 2
        delete(cluster, other, intruder)
        wait_for(lambda: gone(cluster, other, intruder), 60, "the other released")
        assert len(calls(emulator, "StopDeployAlgorithm", alg)) == 1  # the owner's only
        assert cloud(emulator, project, alg)["alg_status"] == "service_running"
    finally:
        cluster.core.delete_namespace(other)


def test_refusals_and_failure(
    cluster: Cluster, emulator: Emulator, namespace: str, project: str, vias_provider: str
) -> None:
    alg = algorithm(emulator, project)
    no_pool = f"as-{uuid.uuid4().hex[:8]}"
    apply(cluster, namespace, no_pool, algId=alg, streamCount=1)
    wait_for(lambda: reason(cluster, namespace, no_pool) == "PoolIdRequired", 60, "refused")
    assert "spec.poolId" in status(cluster, namespace, no_pool)["message"]
    assert calls(emulator, "DeployAlgorithm", alg) == []

    unknown = f"as-{uuid.uuid4().hex[:8]}"
    absent = str(uuid.uuid4())
    apply(cluster, namespace, unknown, algId=absent, poolId="pool-1", streamCount=1)
    wait_for(lambda: reason(cluster, namespace, unknown) == "AlgorithmNotFound", 60, "refused")
    assert "spec.algId" in status(cluster, namespace, unknown)["message"]

    failing = f"as-{uuid.uuid4().hex[:8]}"
    other = algorithm(emulator, project)
    apply(
        cluster, namespace, failing, algId=other, poolId="pool-1", streamCount=1,
        deployConfig={"model": "emulator-fail"},
    )  # fmt: skip
    wait_for(lambda: reason(cluster, namespace, failing) == "DeployFailed", 60, "DeployFailed")
    assert status(cluster, namespace, failing)["phase"] == "Failed"
    # A failed deployment is deployed again for a new spec, not before.
    assert len(calls(emulator, "DeployAlgorithm", other)) == 1
    patch(cluster, namespace, failing, '{"spec": {"deployConfig": {"model": "fixed"}}}')
    cluster.wait_condition(PLURAL, failing, namespace, "True", timeout=60)
    assert len(calls(emulator, "DeployAlgorithm", other)) == 2
    for name in (no_pool, unknown, failing):
        delete(cluster, namespace, name)
    for name in (no_pool, unknown, failing):
        wait_for(lambda n=name: gone(cluster, namespace, n), 60, f"{name} released")
    assert cloud(emulator, project, other)["alg_status"] == "service_stopped"
    assert cloud(emulator, project, alg)["alg_status"] == "not_deployed"
