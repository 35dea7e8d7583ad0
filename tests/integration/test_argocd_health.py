"""The Argo CD health checks (deploy/argocd) on live objects: an InferenceService, a
ServiceInstance (DataArts Fabric) and an AlgorithmService (VIAS) driven through their lives on
the emulator, and provider configs, each state checked with the real object the API server
returns, in the argocd-cm sandbox and with open libraries.

The testdata of deploy/argocd comes from here: with CLOUDINFER_ARGOCD_CAPTURE=1 each checked
object is saved (managedFields and the last-applied annotation dropped, status kept whole) as
testdata/<case>.yaml, and its expected health as that case's entry in health_test.yaml."""

from __future__ import annotations

import copy
import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import kubernetes
import pytest
import yaml
from alibabacloud_eas20210701 import models as m
from kubernetes.client.exceptions import ApiException

from cloudinfer.api.kinds import GROUP, VERSION
from tests.argocd_health import CUSTOMIZATIONS, ROOT, Health, evaluate, load_yaml, script
from tests.integration.conftest import DEV_KEY, OPERATOR_NAMESPACE, Cluster, Emulator, Operator
from tests.integration.test_algorithmservice import algorithm
from tests.integration.test_algorithmservice import cloud as vias_service
from tests.integration.test_inferenceservice import SPEC, ext
from tests.integration.test_providerconfig import put_secret
from tests.integration.test_serviceinstance import cloud, endpoint
from tests.support import wait_for

CAPTURE = os.environ.get("CLOUDINFER_ARGOCD_CAPTURE") == "1"
ISVC = "inferenceservices"
SI = "serviceinstances"
AS = "algorithmservices"
PC = "providerconfigs"
CPC = "clusterproviderconfigs"
KINDS = {
    ISVC: "InferenceService",
    SI: "ServiceInstance",
    AS: "AlgorithmService",
    PC: "ProviderConfig",
    CPC: "ClusterProviderConfig",
}
PAUSED = "cloudinfer.io/paused"
RETRY = "cloudinfer.io/retry"
WAITING = Health("Progressing", "Waiting for the operator to report status")
CAPTURE_NOTE = (
    "# Captured from a live object by tests/integration/test_argocd_health.py\n"
    "# (CLOUDINFER_ARGOCD_CAPTURE=1).\n"
)


# -- checking and capturing --------------------------------------------------------------------


def check(
    plural: str, case: str, obj: dict[str, Any], expected: Health, *, save: bool = True
) -> None:
    """The kind's health.lua gives `expected` for `obj`, sandboxed and with open libraries.
    `save`: a state worth a testdata file when capturing (not one already there)."""
    kind = KINDS[plural]
    assert obj["kind"] == kind, obj
    source = script(kind)
    for open_libs in (False, True):
        got = evaluate(source, obj, open_libs=open_libs)
        assert got == expected, f"{kind} {case} (open libs: {open_libs}): {obj.get('status')}"
    if CAPTURE and save:
        _save(kind, case, obj, expected)


def _save(kind: str, case: str, obj: dict[str, Any], expected: Health) -> None:
    folder = CUSTOMIZATIONS / GROUP / kind
    clean = copy.deepcopy(obj)
    meta = clean["metadata"]
    meta.pop("managedFields", None)
    annotations = meta.get("annotations") or {}
    annotations.pop("kubectl.kubernetes.io/last-applied-configuration", None)
    if not annotations:
        meta.pop("annotations", None)
    path = Path("testdata") / f"{case}.yaml"
    (folder / path).write_text(CAPTURE_NOTE + yaml.safe_dump(clean, sort_keys=False))
    tests_file = folder / "health_test.yaml"
    tests: list[dict[str, Any]] = load_yaml(tests_file)["tests"] if tests_file.exists() else []
    entry = {
        "healthStatus": {"status": expected.status, "message": expected.message},
        "inputPath": str(path),
    }
    for i, existing in enumerate(tests):
        if existing["inputPath"] == entry["inputPath"]:
            tests[i] = entry
            break
    else:
        tests.append(entry)
    tests_file.write_text(
        CAPTURE_NOTE.replace("a live object", "live objects")
        + yaml.safe_dump({"tests": tests}, sort_keys=False, width=1000)
    )


# -- the API, returning the objects it answers with --------------------------------------------


def create(cluster: Cluster, plural: str, body: dict[str, Any]) -> dict[str, Any]:
    """Create; the answer has no status yet (the API server drops it on create)."""
    namespace = body["metadata"].get("namespace")
    custom = cluster.custom
    if namespace is None:
        obj = custom.create_cluster_custom_object(GROUP, VERSION, plural, body)
    else:
        obj = custom.create_namespaced_custom_object(GROUP, VERSION, namespace, plural, body)
    return cast(dict[str, Any], obj)


def patch(
    cluster: Cluster, plural: str, namespace: str, name: str, body: dict[str, Any]
) -> dict[str, Any]:
    """A merge patch; the answer is the object as written, before the operator could react."""
    custom = cluster.custom
    obj = custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, plural, name, body)
    return cast(dict[str, Any], obj)


def delete(cluster: Cluster, plural: str, namespace: str, name: str) -> dict[str, Any]:
    """Delete; the answer of an object kept by a finalizer carries its deletionTimestamp."""
    obj = cluster.custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
    return cast(dict[str, Any], obj)


def gone(cluster: Cluster, plural: str, namespace: str | None, name: str) -> bool:
    try:
        cluster.get(plural, name, namespace)
    except ApiException as exc:
        if exc.status == 404:
            return True
        raise
    return False


def isvc(namespace: str, name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "InferenceService",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"providerConfigRef": {"name": "emulator"}, "eas": SPEC, **spec},
    }


def provider_config(namespace: str | None, name: str, secret: str) -> dict[str, Any]:
    kind = "ProviderConfig" if namespace else "ClusterProviderConfig"
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": kind,
        "metadata": metadata,
        "spec": {
            "cloud": "alibaba-eas",
            "region": "cn-shanghai",
            "credentialsSecretRef": {"name": secret},
        },
    }


def conditions(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or []}


def wait_object(
    cluster: Cluster,
    plural: str,
    namespace: str | None,
    name: str,
    predicate: Callable[[dict[str, Any]], bool],
    what: str,
    timeout: float = 30,
) -> dict[str, Any]:
    """The object once `predicate` holds for it: the very object tested, not a later read."""

    def probe() -> dict[str, Any] | None:
        obj = cluster.get(plural, name, namespace)
        return obj if predicate(obj) else None

    return wait_for(probe, timeout, f"{plural}/{name}: {what}")


def with_condition(
    cluster: Cluster,
    plural: str,
    namespace: str | None,
    name: str,
    status: str,
    reason: str,
    type_: str = "Ready",
) -> dict[str, Any]:
    """The object once its condition `type_` has `status` and `reason`."""

    def holds(obj: dict[str, Any]) -> bool:
        found = conditions(obj).get(type_)
        return found is not None and (found["status"], found["reason"]) == (status, reason)

    return wait_object(cluster, plural, namespace, name, holds, f"{type_}={status} ({reason})")


def in_phase(
    cluster: Cluster,
    namespace: str,
    name: str,
    phase: str,
    timeout: float = 15,
    plural: str = ISVC,
) -> dict[str, Any]:
    def holds(obj: dict[str, Any]) -> bool:
        return bool((obj.get("status") or {}).get("phase") == phase)

    return wait_object(cluster, plural, namespace, name, holds, f"phase {phase}", timeout)


def annotation(key: str, value: str | None) -> dict[str, Any]:
    """A merge patch setting (or, with None, removing) an annotation."""
    return {"metadata": {"annotations": {key: value}}}


def checking(generation: int) -> Health:
    return Health(
        "Progressing",
        f"Waiting for the operator to check the credentials of generation {generation}",
    )


def on_its_way(obj: dict[str, Any]) -> Health:
    """What the check says of a resource in a transitional phase: phase, progress and the
    operator's message."""
    st = obj["status"]
    progress = f" ({st['progress']}%)" if st.get("progress") is not None else ""
    return Health("Progressing", f"{st['phase']}{progress}: {st['message']}")


def degraded_by(condition: dict[str, Any]) -> Health:
    return Health("Degraded", f"{condition['reason']}: {condition['message']}")


# -- InferenceService ------------------------------------------------------------------------


def test_inferenceservice_lifecycle(
    cluster: Cluster, emulator: Emulator, namespace: str, eas_provider: str
) -> None:
    name = "lifecycle"
    created = create(cluster, ISVC, isvc(namespace, name))
    check(ISVC, "created", created, WAITING)

    creating = in_phase(cluster, namespace, name, "Creating")
    check(ISVC, "creating", creating, on_its_way(creating))
    running = with_condition(cluster, ISVC, namespace, name, "True", "Available")
    check(ISVC, "running", running, Health("Healthy", "service is running"))

    patch(cluster, ISVC, namespace, name, annotation(PAUSED, "true"))
    paused = with_condition(cluster, ISVC, namespace, name, "False", "ReconcilePaused", "Synced")
    check(ISVC, "paused", paused, Health("Suspended", f"paused by the {PAUSED} annotation"))
    patch(cluster, ISVC, namespace, name, annotation(PAUSED, None))
    with_condition(cluster, ISVC, namespace, name, "True", "ReconcileSuccess", "Synced")

    # The API server's answer to a spec change: a generation the operator has not seen yet.
    changed = patch(cluster, ISVC, namespace, name, {"spec": {"eas": {"instances": 3}}})
    assert (changed["metadata"]["generation"], changed["status"]["observedGeneration"]) == (2, 1)
    check(
        ISVC,
        "spec-changed",
        changed,
        Health(
            "Progressing",
            "Waiting for the operator to observe generation 2 (status is of generation 1)",
        ),
    )
    updating = in_phase(cluster, namespace, name, "Updating")
    check(ISVC, "updating", updating, on_its_way(updating))
    with_condition(cluster, ISVC, namespace, name, "True", "Available")

    patch(cluster, ISVC, namespace, name, {"spec": {"stopped": True}})
    stopped = with_condition(cluster, ISVC, namespace, name, "False", "Stopped")
    assert stopped["status"]["phase"] == "Stopped"
    check(ISVC, "stopped", stopped, Health("Suspended", "service is stopped as requested"))

    deleting = delete(cluster, ISVC, namespace, name)
    assert deleting["metadata"]["deletionTimestamp"]
    check(ISVC, "deleting", deleting, Health("Progressing", "Pending deletion"))
    wait_for(lambda: gone(cluster, ISVC, namespace, name), 30, f"{name} deleted")
    assert emulator.service(ext(name)) is None


def test_inferenceservice_failed_deploy_then_fixed(
    cluster: Cluster, namespace: str, eas_provider: str
) -> None:
    name = "broken-model"
    broken = {**SPEC, "modelPath": "oss://bucket/emulator-fail"}
    create(cluster, ISVC, isvc(namespace, name, eas=broken))
    failed = with_condition(cluster, ISVC, namespace, name, "False", "DeployFailed")
    assert failed["status"]["phase"] == "Failed"
    check(
        ISVC,
        "deploy-failed",
        failed,
        Health(
            "Degraded",
            "DeployFailed: download model oss://bucket/emulator-fail failed: object does not exist",
        ),
    )
    # A fixed spec applied to the failed service: Progressing (phase Failed or Updating), then
    # Healthy.
    patch(cluster, ISVC, namespace, name, {"spec": {"eas": {"modelPath": "oss://bucket/model"}}})
    fixing = with_condition(cluster, ISVC, namespace, name, "False", "Updating")
    check(ISVC, "fixing-failed", fixing, on_its_way(fixing))
    fixed = with_condition(cluster, ISVC, namespace, name, "True", "Available")
    check(ISVC, "fixed", fixed, Health("Healthy", "service is running"))


def test_inferenceservice_refused_by_the_cloud(
    cluster: Cluster, namespace: str, eas_provider: str
) -> None:
    name = "refused"
    # Admission cannot know this: the cloud refuses cpu 0 passed through `config`.
    create(
        cluster,
        ISVC,
        isvc(namespace, name, eas={"processor": "p", "config": {"metadata": {"cpu": 0}}}),
    )
    refused = with_condition(cluster, ISVC, namespace, name, "False", "InvalidParameter")
    assert conditions(refused)["Synced"]["reason"] == "TerminalError"
    assert refused["status"]["failedGeneration"] == 1
    check(ISVC, "refused", refused, degraded_by(conditions(refused)["Ready"]))

    # A retry asked for: Progressing until the operator has tried (and is refused again).
    asked = patch(cluster, ISVC, namespace, name, annotation(RETRY, "1"))
    ready = conditions(asked)["Ready"]
    check(
        ISVC,
        "retry-requested",
        asked,
        Health(
            "Progressing",
            f"Retrying as asked by annotation {RETRY} after {ready['reason']}: {ready['message']}",
        ),
    )
    again = wait_object(
        cluster,
        ISVC,
        namespace,
        name,
        lambda obj: bool(obj["status"].get("failedRetry") == "1"),
        "refused again after the retry",
    )
    check(ISVC, "refused-after-retry", again, degraded_by(conditions(again)["Ready"]))


def test_inferenceservice_name_taken_on_the_cloud(
    cluster: Cluster, emulator: Emulator, namespace: str, eas_provider: str
) -> None:
    existing = "argocd_unowned"  # made outside Kubernetes: no owner labels
    body = {"name": existing, "processor": "p", "metadata": {"instance": 1, "cpu": 1, "memory": 9}}
    emulator.sdk().create_service(m.CreateServiceRequest(body=json.dumps(body)))
    name = "name-conflict"
    create(cluster, ISVC, isvc(namespace, name, serviceName=existing))
    conflict = with_condition(cluster, ISVC, namespace, name, "False", "NameConflict")
    check(ISVC, "name-conflict", conflict, degraded_by(conditions(conflict)["Synced"]))


def test_inferenceservice_observing_what_does_not_exist(
    cluster: Cluster, namespace: str, eas_provider: str
) -> None:
    name = "observed"
    create(cluster, ISVC, isvc(namespace, name, managementPolicy="Observe", serviceName="absent"))
    missing = with_condition(cluster, ISVC, namespace, name, "False", "ExternalNotFound")
    check(ISVC, "observed-not-found", missing, degraded_by(conditions(missing)["Ready"]))


def test_inferenceservice_connection_secret_not_ours(
    cluster: Cluster, namespace: str, eas_provider: str
) -> None:
    """The service runs (Ready), but its connection Secret cannot be written: Degraded."""
    put_secret(cluster, namespace, "taken", {"note": "someone else's"})
    name = "secret-conflict"
    create(cluster, ISVC, isvc(namespace, name, writeConnectionSecretToRef={"name": "taken"}))

    def running_unwritten(obj: dict[str, Any]) -> bool:
        found = conditions(obj)
        synced, ready = found.get("Synced", {}), found.get("Ready", {})
        return synced.get("reason") == "ConnectionSecretConflict" and ready.get("status") == "True"

    conflict = wait_object(
        cluster, ISVC, namespace, name, running_unwritten, "Ready, its Secret not written"
    )
    check(
        ISVC,
        "connection-secret-conflict",
        conflict,
        degraded_by(conditions(conflict)["Synced"]),
    )


def test_inferenceservice_without_its_provider_config(
    cluster: Cluster, operator: Operator, namespace: str
) -> None:
    name = "no-provider"
    create(cluster, ISVC, isvc(namespace, name))
    blocked = with_condition(cluster, ISVC, namespace, name, "False", "ProviderConfigNotFound")
    check(ISVC, "provider-config-not-found", blocked, degraded_by(conditions(blocked)["Synced"]))


def test_inferenceservice_retrying_a_cloud_error(
    cluster: Cluster, emulator: Emulator, namespace: str, eas_provider: str
) -> None:
    name = "retrying"
    emulator.fault(kind="error", operation="CreateService", status=500, code="InternalError")
    try:
        create(cluster, ISVC, isvc(namespace, name))
        failing = with_condition(
            cluster, ISVC, namespace, name, "False", "ReconcileError", "Synced"
        )
    finally:
        emulator.clear_faults()
    synced = conditions(failing)["Synced"]
    check(
        ISVC,
        "retrying-error",
        failing,
        Health(
            "Progressing", f"{failing['status']['message']}; ReconcileError: {synced['message']}"
        ),
    )
    # A retry, not a refusal: it gets there once the cloud answers again.
    with_condition(cluster, ISVC, namespace, name, "True", "Available")


# -- ServiceInstance (DataArts Fabric) ---------------------------------------------------------


@pytest.fixture
def fabric(cluster: Cluster, operator: Operator, emulator: Emulator, namespace: str) -> str:
    """A Fabric workspace of the test's own and a Ready ProviderConfig `fabric` for it
    (polling fast); returns the workspace."""
    workspace = f"ws-{uuid.uuid4().hex[:12]}"
    put_secret(
        cluster,
        namespace,
        "fabric-creds",
        {"accessKeyId": DEV_KEY[0], "accessKeySecret": DEV_KEY[1]},
    )
    config = {
        "apiVersion": f"{GROUP}/{VERSION}",
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
    }
    create(cluster, PC, config)
    cluster.wait_condition(PC, "fabric", namespace, "True")
    return workspace


def service_instance(
    namespace: str, name: str, endpoint_id: str, units: int, model: str = "llama3-8b"
) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ServiceInstance",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "providerConfigRef": {"name": "fabric"},
            "endpointId": endpoint_id,
            "source": {"id": model, "versionId": "v1"},
            "description": "served for the Argo CD health check",
            "resource": {"min": 1, "max": units, "specCode": "mu.llama3.8b"},
        },
    }


def test_serviceinstance_lifecycle(
    cluster: Cluster, emulator: Emulator, namespace: str, fabric: str
) -> None:
    name = "lifecycle"
    ep = endpoint(emulator, fabric, 4)
    created = create(cluster, SI, service_instance(namespace, name, ep, 2))
    check(SI, "created", created, WAITING)

    deploying = in_phase(cluster, namespace, name, "Creating", plural=SI)
    assert conditions(deploying)["Ready"]["status"] == "False"
    check(SI, "deploying", deploying, on_its_way(deploying))
    running = with_condition(cluster, SI, namespace, name, "True", "Available")
    assert running["status"]["url"] and running["status"]["instances"] == {"min": 1, "max": 2}
    check(SI, "running", running, Health("Healthy", "service is running"))

    patch(cluster, SI, namespace, name, annotation(PAUSED, "true"))
    paused = with_condition(cluster, SI, namespace, name, "False", "ReconcilePaused", "Synced")
    check(SI, "paused", paused, Health("Suspended", f"paused by the {PAUSED} annotation"))
    patch(cluster, SI, namespace, name, annotation(PAUSED, None))
    with_condition(cluster, SI, namespace, name, "True", "ReconcileSuccess", "Synced")

    # A larger max: an update on the cloud (Fabric checks the endpoint's room first).
    patch(cluster, SI, namespace, name, {"spec": {"resource": {"max": 3}}})
    updating = in_phase(cluster, namespace, name, "Updating", plural=SI)
    check(SI, "updating", updating, on_its_way(updating))
    resized = with_condition(cluster, SI, namespace, name, "True", "Available")
    check(SI, "resized", resized, Health("Healthy", "service is running"), save=False)

    instance_id = resized["status"]["instanceId"]
    deleting = delete(cluster, SI, namespace, name)
    assert deleting["metadata"]["deletionTimestamp"]
    check(SI, "deleting", deleting, Health("Progressing", "Pending deletion"))
    wait_for(lambda: gone(cluster, SI, namespace, name), 30, f"{name} deleted")
    assert cloud(emulator, fabric, instance_id) is None


def test_serviceinstance_failed(
    cluster: Cluster, emulator: Emulator, namespace: str, fabric: str
) -> None:
    """The model cannot be loaded: phase Failed, and Fabric's error_code and error_msg."""
    name = "cannot-load"
    ep = endpoint(emulator, fabric, 4)
    create(cluster, SI, service_instance(namespace, name, ep, 1, model="emulator-fail"))
    failed = with_condition(cluster, SI, namespace, name, "False", "DeployFailed")
    st = failed["status"]
    assert st["phase"] == "Failed" and st["cloudStatus"] == "FAILED", st
    assert st["message"].startswith("common.00000500: "), st
    check(SI, "failed", failed, Health("Degraded", f"DeployFailed: {st['message']}"))


def test_serviceinstance_waiting_for_endpoint_capacity(
    cluster: Cluster, emulator: Emulator, namespace: str, fabric: str
) -> None:
    """Other instances hold the endpoint's units: Degraded with the numbers (a person frees
    room or asks for less), then Healthy once room frees, with nothing done to this one."""
    ep = endpoint(emulator, fabric, 4)
    create(cluster, SI, service_instance(namespace, "holder", ep, 3))
    with_condition(cluster, SI, namespace, "holder", "True", "Available")
    create(cluster, SI, service_instance(namespace, "waiting", ep, 2))
    waiting = with_condition(cluster, SI, namespace, "waiting", "False", "EndpointCapacityExceeded")
    synced = conditions(waiting)["Synced"]
    assert synced["reason"] == "EndpointCapacityExceeded", synced
    assert "room for 1 of its 4 units" in synced["message"], synced
    check(SI, "capacity-exceeded", waiting, degraded_by(conditions(waiting)["Ready"]))

    patch(cluster, SI, namespace, "holder", {"spec": {"resource": {"max": 2}}})
    deployed = with_condition(cluster, SI, namespace, "waiting", "True", "Available")
    check(SI, "room-freed", deployed, Health("Healthy", "service is running"), save=False)


def test_serviceinstance_observing_what_does_not_exist(
    cluster: Cluster, namespace: str, fabric: str
) -> None:
    name = "observed"
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ServiceInstance",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "providerConfigRef": {"name": "fabric"},
            "managementPolicy": "Observe",
            "instanceId": "absent",
        },
    }
    create(cluster, SI, body)
    missing = with_condition(cluster, SI, namespace, name, "False", "ExternalNotFound")
    check(SI, "observed-not-found", missing, degraded_by(conditions(missing)["Ready"]))


# -- AlgorithmService (VIAS) -------------------------------------------------------------------


@pytest.fixture
def vias(cluster: Cluster, operator: Operator, emulator: Emulator, namespace: str) -> str:
    """A VIAS project of the test's own and a Ready ProviderConfig `vias` for it (polling
    fast); returns the project."""
    project = uuid.uuid4().hex
    put_secret(
        cluster,
        namespace,
        "vias-creds",
        {"accessKeyId": DEV_KEY[0], "accessKeySecret": DEV_KEY[1]},
    )
    config = {
        "apiVersion": f"{GROUP}/{VERSION}",
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
    }
    create(cluster, PC, config)
    cluster.wait_condition(PC, "vias", namespace, "True")
    return project


def algorithm_service(namespace: str, name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "AlgorithmService",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"providerConfigRef": {"name": "vias"}, **spec},
    }


def force(emulator: Emulator, service_id: str, alg_status: str, error_msg: str = "") -> None:
    """Set a VIAS service's status at once (the emulator's admin API), as the cloud would."""
    body = {"alg_status": alg_status, "error_msg": error_msg}
    emulator.admin("PUT", f"/vias/services/{service_id}", body)


def test_algorithmservice_lifecycle(
    cluster: Cluster, emulator: Emulator, namespace: str, vias: str
) -> None:
    name = "lifecycle"
    alg = algorithm(emulator, vias)
    body = algorithm_service(namespace, name, algId=alg, poolId="pool-1", streamCount=2)
    created = create(cluster, AS, body)
    check(AS, "created", created, WAITING)

    deploying = in_phase(cluster, namespace, name, "Deploying", plural=AS)
    assert conditions(deploying)["Ready"]["status"] == "False"
    check(AS, "deploying", deploying, on_its_way(deploying))
    running = with_condition(cluster, AS, namespace, name, "True", "Available")
    assert running["status"]["serviceId"] and running["status"]["serviceApis"]
    check(AS, "running", running, Health("Healthy", "service is running"))

    patch(cluster, AS, namespace, name, annotation(PAUSED, "true"))
    paused = with_condition(cluster, AS, namespace, name, "False", "ReconcilePaused", "Synced")
    check(AS, "paused", paused, Health("Suspended", f"paused by the {PAUSED} annotation"))
    patch(cluster, AS, namespace, name, annotation(PAUSED, None))
    with_condition(cluster, AS, namespace, name, "True", "ReconcileSuccess", "Synced")

    # More streams: VIAS deploys the running service again (service_upgrading).
    patch(cluster, AS, namespace, name, {"spec": {"streamCount": 3}})
    updating = in_phase(cluster, namespace, name, "Updating", plural=AS)
    check(AS, "updating", updating, on_its_way(updating))
    redeployed = with_condition(cluster, AS, namespace, name, "True", "Available")
    assert vias_service(emulator, vias, alg)["stream_count"] == 3
    check(AS, "redeployed", redeployed, Health("Healthy", "service is running"), save=False)

    patch(cluster, AS, namespace, name, {"spec": {"stopped": True}})
    stopped = with_condition(cluster, AS, namespace, name, "False", "Stopped")
    assert stopped["status"]["phase"] == "Stopped"
    assert vias_service(emulator, vias, alg)["alg_status"] == "service_stopped"
    check(AS, "stopped", stopped, Health("Suspended", "service is stopped as requested"))

    deleting = delete(cluster, AS, namespace, name)
    assert deleting["metadata"]["deletionTimestamp"]
    check(AS, "deleting", deleting, Health("Progressing", "Pending deletion"))
    wait_for(lambda: gone(cluster, AS, namespace, name), 30, f"{name} deleted")


def test_algorithmservice_failed(
    cluster: Cluster, emulator: Emulator, namespace: str, vias: str
) -> None:
    """The algorithm's container cannot start: phase Failed, and VIAS's error_msg."""
    name = "cannot-start"
    alg = algorithm(emulator, vias)
    broken = {"model": "emulator-fail"}
    create(
        cluster,
        AS,
        algorithm_service(
            namespace, name, algId=alg, poolId="pool-1", streamCount=1, deployConfig=broken
        ),
    )
    failed = with_condition(cluster, AS, namespace, name, "False", "DeployFailed")
    st = failed["status"]
    assert st["phase"] == "Failed" and st["cloudStatus"] == "service_failed", st
    assert st["message"] == vias_service(emulator, vias, alg)["error_msg"], st
    check(AS, "failed", failed, Health("Degraded", f"DeployFailed: {st['message']}"))


def test_algorithmservice_finished(
    cluster: Cluster, emulator: Emulator, namespace: str, vias: str
) -> None:
    """VIAS ends the service (its package or subscription ran out): nothing can be deployed
    any more, Degraded."""
    name = "finished"
    alg = algorithm(emulator, vias)
    body = algorithm_service(namespace, name, algId=alg, poolId="pool-1", streamCount=1)
    create(cluster, AS, body)
    running = with_condition(cluster, AS, namespace, name, "True", "Available")
    force(emulator, running["status"]["serviceId"], "service_finished")
    finished = with_condition(cluster, AS, namespace, name, "False", "DeployFailed")
    assert finished["status"]["phase"] == "Finished", finished["status"]
    check(AS, "finished", finished, degraded_by(conditions(finished)["Ready"]))


def test_algorithmservice_observing_a_degraded_service(
    cluster: Cluster, emulator: Emulator, namespace: str, vias: str
) -> None:
    """VIAS reports the service needs attention (service_concerning): phase Degraded, with
    the cloud's error_msg. Observed, so that the operator does not redeploy it."""
    alg = algorithm(emulator, vias, "Crowd Counting")
    service_id = vias_service(emulator, vias, alg)["service_id"]
    force(emulator, service_id, "service_concerning", "camera 3 offline")
    name = "concerning"
    body = algorithm_service(namespace, name, managementPolicy="Observe", serviceId=service_id)
    create(cluster, AS, body)
    degraded = with_condition(cluster, AS, namespace, name, "False", "Degraded")
    st = degraded["status"]
    assert (st["phase"], st["message"]) == ("Degraded", "camera 3 offline"), st
    check(AS, "degraded", degraded, Health("Degraded", "Degraded: camera 3 offline"))


def test_algorithmservice_observing_what_does_not_exist(
    cluster: Cluster, namespace: str, vias: str
) -> None:
    name = "observed"
    body = algorithm_service(
        namespace, name, managementPolicy="Observe", serviceId=str(uuid.uuid4())
    )
    create(cluster, AS, body)
    missing = with_condition(cluster, AS, namespace, name, "False", "ExternalNotFound")
    check(AS, "observed-not-found", missing, degraded_by(conditions(missing)["Ready"]))


# -- ProviderConfig and ClusterProviderConfig -------------------------------------------------


def test_provider_config(cluster: Cluster, operator: Operator, namespace: str) -> None:
    put_secret(cluster, namespace, "creds", {"accessKeyId": "AKID", "accessKeySecret": "sk"})
    created = create(cluster, PC, provider_config(namespace, "account", "creds"))
    check(PC, "created", created, checking(1))
    ready = with_condition(cluster, PC, namespace, "account", "True", "CredentialsAvailable")
    check(PC, "ready", ready, Health("Healthy", conditions(ready)["Ready"]["message"]))
    changed = patch(cluster, PC, namespace, "account", {"spec": {"region": "cn-hangzhou"}})
    assert changed["status"]["observedGeneration"] == 1
    check(PC, "spec-changed", changed, checking(2))

    put_secret(cluster, namespace, "half", {"accessKeyId": "AKID"})
    create(cluster, PC, provider_config(namespace, "key-missing", "half"))
    missing_key = with_condition(cluster, PC, namespace, "key-missing", "False", "SecretKeyMissing")
    check(PC, "secret-key-missing", missing_key, degraded_by(conditions(missing_key)["Ready"]))

    create(cluster, PC, provider_config(namespace, "no-secret", "absent"))
    no_secret = with_condition(cluster, PC, namespace, "no-secret", "False", "SecretNotFound")
    check(PC, "secret-not-found", no_secret, degraded_by(conditions(no_secret)["Ready"]))

    # In use, a deleted provider config stays until its user goes. (The user never calls a
    # cloud: its config has no credentials.)
    user = isvc(namespace, "user")
    user["spec"]["providerConfigRef"] = {"name": "no-secret"}
    create(cluster, ISVC, user)
    wait_object(
        cluster,
        PC,
        namespace,
        "no-secret",
        lambda obj: bool(obj["metadata"].get("finalizers")),
        "the in-use finalizer",
    )
    deleting = delete(cluster, PC, namespace, "no-secret")
    assert deleting["metadata"]["deletionTimestamp"]
    check(PC, "deleting-in-use", deleting, Health("Progressing", "Pending deletion"))
    delete(cluster, ISVC, namespace, "user")
    wait_for(lambda: gone(cluster, PC, namespace, "no-secret"), 30, "the provider config gone")


@pytest.fixture
def cluster_configs(cluster: Cluster) -> Iterator[list[str]]:
    """Names for ClusterProviderConfigs (cluster-wide, so made unique by the test), deleted
    afterwards with their Secrets."""
    names: list[str] = []
    yield names
    for name in names:
        cluster.kubectl("delete", "clusterproviderconfig", name, "--ignore-not-found")
        cluster.kubectl(
            "delete", "secret", f"{name}-creds", "-n", OPERATOR_NAMESPACE, "--ignore-not-found"
        )


def test_cluster_provider_config(
    cluster: Cluster, operator: Operator, cluster_configs: list[str]
) -> None:
    suffix = uuid.uuid4().hex[:6]
    good, bad = f"shared-{suffix}", f"unusable-{suffix}"
    cluster_configs.extend([good, bad])
    credentials = {"accessKeyId": "AK", "accessKeySecret": "SK"}
    put_secret(cluster, OPERATOR_NAMESPACE, f"{good}-creds", credentials)
    created = create(cluster, CPC, provider_config(None, good, f"{good}-creds"))
    check(CPC, "created", created, checking(1))
    ready = with_condition(cluster, CPC, None, good, "True", "CredentialsAvailable")
    check(CPC, "ready", ready, Health("Healthy", conditions(ready)["Ready"]["message"]))

    create(cluster, CPC, provider_config(None, bad, f"{bad}-creds"))
    missing = with_condition(cluster, CPC, None, bad, "False", "SecretNotFound")
    check(CPC, "secret-not-found", missing, degraded_by(conditions(missing)["Ready"]))


# -- the argocd-cm snippet -------------------------------------------------------------------


def test_argocd_cm_snippet_merges_into_an_existing_config_map(cluster: Cluster) -> None:
    """The patch command its header gives adds the scripts, byte for byte, and keeps the keys
    already there."""
    meta = kubernetes.client.V1ObjectMeta
    cluster.core.create_namespace(kubernetes.client.V1Namespace(metadata=meta(name="argocd")))
    try:
        existing = {"url": "https://argo.example"}
        config_map = kubernetes.client.V1ConfigMap(metadata=meta(name="argocd-cm"), data=existing)
        cluster.core.create_namespaced_config_map("argocd", config_map)
        snippet = ROOT / "deploy" / "argocd" / "argocd-cm.yaml"
        cluster.kubectl(
            "-n", "argocd", "patch", "configmap", "argocd-cm", "--type", "merge",
            "--patch-file", str(snippet),
        )  # fmt: skip
        data = dict(cluster.core.read_namespaced_config_map("argocd-cm", "argocd").data or {})
        assert data.pop("url") == "https://argo.example"
        assert data == {
            f"resource.customizations.health.{GROUP}_{kind}": script(kind)
            for kind in KINDS.values()
        }
    finally:
        cluster.core.delete_namespace("argocd")
