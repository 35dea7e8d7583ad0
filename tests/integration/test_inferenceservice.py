"""InferenceService on PAI-EAS, end to end: real kube-apiserver, the operator as a process,
the emulator over HTTP."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

from alibabacloud_eas20210701 import models as m

from tests.integration.conftest import Cluster, Emulator
from tests.support import wait_for

PLURAL = "inferenceservices"
SPEC = {
    "processor": "tensorflow_cpu",
    "modelPath": "oss://bucket/model",
    "instances": 2,
    "cpu": 1,
    "memory": 2000,
}


def unique(prefix: str = "svc") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def apply_isvc(
    cluster: Cluster, namespace: str, name: str, *, eas: dict[str, Any] | None = None, **spec: Any
) -> None:
    body = {"providerConfigRef": {"name": "emulator"}, "eas": SPEC if eas is None else eas, **spec}
    cluster.apply(
        {
            "apiVersion": "cloudinfer.io/v1alpha1",
            "kind": "InferenceService",
            "metadata": {"name": name, "namespace": namespace},
            "spec": body,
        }
    )


def patch_spec(cluster: Cluster, namespace: str, name: str, patch: dict[str, Any]) -> None:
    cluster.kubectl(
        "patch", "cisvc", name, "-n", namespace, "--type=merge", "-p", json.dumps({"spec": patch})
    )


def status(cluster: Cluster, namespace: str, name: str) -> dict[str, Any]:
    return dict(cluster.get(PLURAL, name, namespace).get("status") or {})


def wait_phase(
    cluster: Cluster, namespace: str, name: str, phase: str, timeout: float = 30
) -> dict[str, Any]:
    return wait_for(
        lambda: (s := status(cluster, namespace, name)).get("phase") == phase and s,
        timeout,
        f"{name} phase {phase}",
    )


def ext(name: str) -> str:
    return name.replace("-", "_")


def events(cluster: Cluster, namespace: str, name: str) -> list[tuple[str, str]]:
    items = cluster.core.list_namespaced_event(
        namespace, field_selector=f"involvedObject.name={name}"
    ).items
    return [(e.type, e.reason) for e in items]


def test_create_becomes_ready_with_endpoints(
    cluster: Cluster, emulator: Emulator, namespace: str, eas_provider: str
) -> None:
    name = unique()
    apply_isvc(
        cluster,
        namespace,
        name,
        writeConnectionSecretToRef={"name": f"{name}-conn"},
        labels={"team": "search"},
    )
    cond = cluster.wait_condition(PLURAL, name, namespace, "True", "Available")
    st = status(cluster, namespace, name)
    assert st["phase"] == "Running" and st["progress"] == 100 and st["cloudStatus"] == "Running"
    assert st["instances"] == {"total": 2, "running": 2, "pending": 0}
    assert st["serviceName"] == ext(name) and st["serviceId"].startswith("eas-m-")
    assert st["url"].endswith(f"/api/predict/{ext(name)}") and "intranet" in st["endpoints"]
    assert cond["observedGeneration"] == st["observedGeneration"] == 1

    cloud = emulator.service(ext(name))
    assert cloud is not None
    labels = {x["LabelKey"]: x["LabelValue"] for x in cloud["Labels"]}
    obj = cluster.get(PLURAL, name, namespace)
    assert labels["cloudinfer-uid"] == obj["metadata"]["uid"] and labels["team"] == "search"
    assert "cloudinfer.io/finalizer" in obj["metadata"]["finalizers"]
    assert obj["metadata"]["annotations"]["cloudinfer.io/external-name"] == ext(name)

    # The access token goes to the connection Secret only.
    secret = wait_for(lambda: _secret(cluster, namespace, f"{name}-conn"), 20, "connection Secret")
    token = base64.b64decode(secret["token"]).decode()
    assert token == cloud["AccessToken"] and token not in json.dumps(obj)
    assert base64.b64decode(secret["internetEndpoint"]).decode() == st["url"]
    reasons = {r for _, r in events(cluster, namespace, name)}
    assert {"CreatedExternal", "Running"} <= reasons
    # A connection Secret someone deletes comes back at the next reconcile.
    cluster.core.delete_namespaced_secret(f"{name}-conn", namespace)
    cluster.kubectl("annotate", "cisvc", name, "-n", namespace, "poke=1")
    restored = wait_for(lambda: _secret(cluster, namespace, f"{name}-conn"), 20, "the Secret back")
    assert base64.b64decode(restored["token"]).decode() == token
    cluster.kubectl(
        "wait", "--for=condition=Ready", f"cisvc/{name}", "-n", namespace, "--timeout=5s"
    )


def _secret(cluster: Cluster, namespace: str, name: str) -> dict[str, str] | None:
    from kubernetes.client.exceptions import ApiException

    try:
        return dict(cluster.core.read_namespaced_secret(name, namespace).data)
    except ApiException:
        return None


def test_update_stop_start_and_autoscaler(
    cluster: Cluster, emulator: Emulator, namespace: str, eas_provider: str
) -> None:
    name = unique()
    apply_isvc(cluster, namespace, name)
    cluster.wait_condition(PLURAL, name, namespace, "True", "Available")

    patch_spec(cluster, namespace, name, {"eas": {"instances": 3}})
    wait_phase(cluster, namespace, name, "Updating", 15)
    st = wait_for(
        lambda: (
            (s := status(cluster, namespace, name)).get("phase") == "Running"
            and s.get("instances", {}).get("running") == 3
            and s
        ),
        30,
        "3 running instances",
    )
    assert st["observedGeneration"] == 2
    assert json.loads(emulator.service(ext(name))["ServiceConfig"])["metadata"]["instance"] == 3  # type: ignore[index]
    assert len(emulator.calls("UpdateService", ext(name))) == 1

    patch_spec(cluster, namespace, name, {"stopped": True})
    cluster.wait_condition(PLURAL, name, namespace, "False", "Stopped", timeout=30)
    assert status(cluster, namespace, name)["phase"] == "Stopped"
    patch_spec(cluster, namespace, name, {"stopped": False})
    cluster.wait_condition(PLURAL, name, namespace, "True", "Available", timeout=30)
    assert [
        c["operation"]
        for c in emulator.calls(target=ext(name))
        if c["operation"] in ("StopService", "StartService")
    ] == ["StopService", "StartService"]

    patch_spec(
        cluster, namespace, name, {"eas": {"autoscaling": {"min": 1, "max": 4, "threshold": 10}}}
    )
    wait_for(
        lambda: status(cluster, namespace, name).get("appliedAutoscaling"), 30, "autoscaler applied"
    )
    calls = emulator.calls("UpdateServiceAutoScaler", ext(name))
    assert len(calls) == 1 and calls[0]["status"] == 200


def test_drift_is_corrected(
    cluster: Cluster, emulator: Emulator, namespace: str, eas_provider: str
) -> None:
    name = unique()
    apply_isvc(cluster, namespace, name)
    cluster.wait_condition(PLURAL, name, namespace, "True", "Available")
    # Someone changes the instance count on the console.
    emulator.sdk().update_service(
        "cn-shanghai",
        ext(name),
        m.UpdateServiceRequest(body=json.dumps({"metadata": {"instance": 5}})),
    )
    wait_for(
        lambda: len(emulator.calls("UpdateService", ext(name))) == 2,
        30,
        "the operator's correction",
    )
    wait_for(
        lambda: (
            (s := emulator.service(ext(name)))
            and s["Status"] == "Running"
            and json.loads(s["ServiceConfig"])["metadata"]["instance"] == 2
        ),
        30,
        "back to 2 instances",
    )
    assert ("Normal", "UpdatingExternal") in events(cluster, namespace, name)


def test_clone(cluster: Cluster, emulator: Emulator, namespace: str, eas_provider: str) -> None:
    source = unique("src")
    apply_isvc(cluster, namespace, source, eas={**SPEC, "instances": 1})
    cluster.wait_condition(PLURAL, source, namespace, "True", "Available")
    clone = unique("clone")
    apply_isvc(
        cluster, namespace, clone, eas={"instances": 1}, cloneFrom={"serviceName": ext(source)}
    )
    cluster.wait_condition(PLURAL, clone, namespace, "True", "Available")
    assert len(emulator.calls("CloneService", ext(source))) == 1
    assert not emulator.calls("CreateService", ext(clone))
    config = json.loads(emulator.service(ext(clone))["ServiceConfig"])  # type: ignore[index]
    assert config["processor"] == "tensorflow_cpu" and config["model_path"] == "oss://bucket/model"


def test_adopt_in_observe_mode_never_writes(
    cluster: Cluster, emulator: Emulator, namespace: str, eas_provider: str
) -> None:
    existing = ext(unique("legacy"))
    emulator.sdk().create_service(
        m.CreateServiceRequest(
            body=json.dumps(
                {
                    "name": existing,
                    "processor": "pmml",
                    "metadata": {"instance": 1, "cpu": 1, "memory": 1000},
                }
            )
        )
    )
    name = unique("adopted")
    apply_isvc(
        cluster,
        namespace,
        name,
        eas={"instances": 3},
        serviceName=existing,
        managementPolicy="Observe",
    )
    cluster.wait_condition(PLURAL, name, namespace, "True", "Available")
    st = wait_for(
        lambda: (
            "differs from spec" in (s := status(cluster, namespace, name)).get("message", "") and s
        ),
        20,
        "drift reported",
    )
    assert "metadata.instance" in st["message"] and st["url"]
    assert ("Warning", "DriftDetected") in events(cluster, namespace, name)
    cluster.kubectl("delete", "cisvc", name, "-n", namespace, "--timeout=30s")
    writes = [
        c
        for c in emulator.calls(target=existing)
        if c["operation"] not in ("DescribeService", "ListServices", "CreateService")
    ]
    assert writes == [] and emulator.service(existing) is not None


def test_delete_and_orphan(
    cluster: Cluster, emulator: Emulator, namespace: str, eas_provider: str
) -> None:
    doomed, kept = unique("doomed"), unique("kept")
    apply_isvc(cluster, namespace, doomed)
    apply_isvc(cluster, namespace, kept, deletionPolicy="Orphan")
    for name in (doomed, kept):
        cluster.wait_condition(PLURAL, name, namespace, "True", "Available")
    cluster.kubectl("delete", "cisvc", doomed, kept, "-n", namespace, "--wait=false")
    wait_for(
        lambda: (
            cluster.kubectl("get", "cisvc", doomed, "-n", namespace, check=False).returncode != 0
        ),
        30,
        "the doomed resource to go",
    )
    # DeletedExternal is posted only when the cloud confirms the service is gone, just before
    # the finalizer comes off: the finalizer held the resource through the deletion.
    assert {"DeletingExternal", "DeletedExternal"} <= {
        r for _, r in events(cluster, namespace, doomed)
    }
    assert emulator.service(ext(doomed)) is None
    wait_for(
        lambda: cluster.kubectl("get", "cisvc", kept, "-n", namespace, check=False).returncode != 0,
        30,
        "the orphaning resource to go",
    )
    assert emulator.service(ext(kept)) is not None
    assert not emulator.calls("DeleteService", ext(kept))
