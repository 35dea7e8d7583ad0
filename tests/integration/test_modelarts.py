"""InferenceService on Huawei Cloud ModelArts against the real API server and the emulator:
create → Ready with the service id recorded and the access address as url; a changed weight
and instance count are sent as a config update; stop and start are status updates; delete
waits until the service is gone; a create whose answer is lost makes no duplicate (the
owner marker finds it)."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections import Counter
from typing import Any

import pytest
from pydantic import SecretStr

from cloudinfer.clouds.huawei.modelarts import ModelArtsClient
from cloudinfer.credentials import Credentials
from tests.integration.conftest import DEV_IAM_TOKEN, DEV_KEY, Cluster, Emulator, Operator
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

    # The cloud's events, each posted once (deploy, update, stop, start: several alike).
    on_cloud = cloud_event_messages(emulator, service_id)
    assert on_cloud["normal: The service is running."] >= 3, on_cloud
    wait_for(
        lambda: mirrored_messages(cluster, namespace, name) == on_cloud,
        30,
        "the cloud's events mirrored once each",
    )
    st = status(cluster, namespace, name)
    assert [m["instanceCount"] for m in st["models"]] == [1, 2]
    assert st["instances"] == {"total": 3, "running": 3, "pending": 0}

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


def dev_client(emulator: Emulator) -> ModelArtsClient:
    """The ModelArts client on the dev keys, as a console user (or a test) would use it."""
    return ModelArtsClient(
        "cn-north-4",
        PROJECT,
        Credentials(access_key_id=DEV_KEY[0], access_key_secret=SecretStr(DEV_KEY[1])),
        endpoint=emulator.url,
    )


def cloud_event_messages(emulator: Emulator, service_id: str) -> Counter[str]:
    """The service's events on the cloud (all of them: fewer than a page)."""
    client = dev_client(emulator)

    async def read() -> Counter[str]:
        try:
            page = await client.show_service_events(service_id, limit=100)
            return Counter(f"{e.event_type}: {e.event_info}" for e in page.events)
        finally:
            await client.aclose()

    return asyncio.run(read())


def mirrored_messages(cluster: Cluster, namespace: str, name: str) -> Counter[str]:
    items = cluster.core.list_namespaced_event(
        namespace, field_selector=f"involvedObject.name={name}"
    ).items
    kinds = {"Normal": "normal", "Warning": "abnormal"}
    return Counter(f"{kinds[e.type]}: {e.message}" for e in items if e.reason == "CloudEvent")


def create_elsewhere(emulator: Emulator, name: str) -> str:
    """A service made outside the operator (as a console user would), with the dev keys."""
    client = dev_client(emulator)

    async def create() -> str:
        try:
            body = {
                "service_name": name,
                "infer_type": "real-time",
                "config": [
                    {
                        "model_id": "model-console",
                        "specification": "modelarts.vm.cpu.2u",
                        "instance_count": 2,
                        "weight": 100,
                    }
                ],
            }
            return await client.create_service(body)
        finally:
            await client.aclose()

    return asyncio.run(create())


def test_observe_adopts_an_existing_service_by_id_read_only(
    cluster: Cluster, emulator: Emulator, namespace: str, modelarts_provider: str
) -> None:
    """`modelarts.serviceId` with managementPolicy Observe: status mirrors the service (no
    models in the spec), nothing is written to it, and deleting the resource leaves it."""
    service_id = create_elsewhere(emulator, f"console-{uuid.uuid4().hex[:8]}")
    name = f"ma-obs-{uuid.uuid4().hex[:8]}"
    before = len(emulator.calls("UpdateService"))
    cluster.apply(
        {
            "apiVersion": "cloudinfer.io/v1alpha1",
            "kind": "InferenceService",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "providerConfigRef": {"name": "huawei"},
                "managementPolicy": "Observe",
                "modelarts": {"serviceId": service_id},
            },
        }
    )
    st = running(cluster, namespace, name, 90)
    cluster.wait_condition(PLURAL, name, namespace, "True")
    svc = cloud(emulator, service_id)
    assert svc is not None
    assert st["serviceId"] == service_id and st["url"] == svc["access_address"]
    assert "cloudinfer-uid" not in (svc.get("additional_properties") or {})  # never stamped
    assert len(emulator.calls("UpdateService")) == before
    assert not [c for c in emulator.calls("CreateService") if name in str(c.get("target"))]

    cluster.kubectl("delete", "cisvc", name, "-n", namespace, "--wait=true", "--timeout=60s")
    kept = cloud(emulator, service_id)
    assert kept is not None and kept["status"] == "running"


def test_observe_of_an_unknown_id_says_not_found(
    cluster: Cluster, emulator: Emulator, namespace: str, modelarts_provider: str
) -> None:
    name = f"ma-obs-{uuid.uuid4().hex[:8]}"
    cluster.apply(
        {
            "apiVersion": "cloudinfer.io/v1alpha1",
            "kind": "InferenceService",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "providerConfigRef": {"name": "huawei"},
                "managementPolicy": "Observe",
                "modelarts": {"serviceId": "00000000-0000-0000-0000-000000000000"},
            },
        }
    )
    cond = cluster.wait_condition(PLURAL, name, namespace, "False", reason="ExternalNotFound")
    assert "00000000-0000-0000-0000-000000000000" in cond["message"]


def test_a_quota_refusal_is_terminal_with_one_create_until_retried(
    cluster: Cluster,
    operator: Operator,
    emulator: Emulator,
    namespace: str,
    modelarts_provider: str,
) -> None:
    """The account's instance quota (the emulator's real check, ModelArts.3522) refuses the
    create: Ready=False with the cloud's code, one CreateService however many reconciles
    follow; after the quota is raised, the retry annotation creates it."""
    name = f"ma-q-{uuid.uuid4().hex[:8]}"
    emulator.admin("PUT", "/modelarts/quota", {"instances": 1})
    try:
        apply(cluster, namespace, name)  # two models, two instances
        cond = wait_for(
            lambda: (
                (c := cluster.condition(PLURAL, name, namespace, "Synced"))
                and c["reason"] == "TerminalError"
                and c
            ),
            60,
            f"{name} refused",
        )
        ready = cluster.condition(PLURAL, name, namespace, "Ready")
        assert ready is not None and ready["status"] == "False"
        assert "ModelArts.3522" in ready["message"], ready
        assert "ModelArts.3522" in cond["message"] or "quota" in cond["message"].lower()

        def creates() -> list[dict[str, Any]]:
            return [c for c in emulator.calls("CreateService") if name in json.dumps(c)]

        for i in range(3):  # one at a time: the work queue coalesces triggers that overlap
            done = operator.metric("cloudinfer_reconciles_total")
            cluster.kubectl("annotate", "cisvc", name, "-n", namespace, f"poke=p{i}", "--overwrite")
            wait_for(
                lambda d=done: operator.metric("cloudinfer_reconciles_total") > d,  # type: ignore[misc]
                30,
                f"reconcile {i + 1}",
            )
        assert len(creates()) == 1, creates()
    finally:
        emulator.admin("PUT", "/modelarts/quota", {"instances": None})
    cluster.kubectl("annotate", "cisvc", name, "-n", namespace, "cloudinfer.io/retry=1")
    running(cluster, namespace, name, 90)
    assert len(creates()) == 2


@pytest.mark.parametrize(("token", "ready"), [(DEV_IAM_TOKEN, True), ("not-a-token", False)])
def test_an_iam_token_provider_config(
    cluster: Cluster,
    operator: Operator,
    emulator: Emulator,
    namespace: str,
    token: str,
    ready: bool,
) -> None:
    """A Secret holding `iamToken` (no key pair) authenticates by X-Auth-Token: the service
    is made in the token's account; a token the cloud does not know is an auth refusal
    named on the resource, with the token nowhere in it."""
    cluster.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "huawei-token", "namespace": namespace},
            "stringData": {"iamToken": token},
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
                "credentialsSecretRef": {"name": "huawei-token"},
                "pollIntervals": {"transitionalSeconds": 1, "stableSeconds": 10},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "model-secret", "namespace": namespace},
            "stringData": {"t": "tok-123"},
        },
    )
    name = f"ma-iam-{uuid.uuid4().hex[:8]}"
    apply(cluster, namespace, name)
    if ready:
        st = running(cluster, namespace, name, 90)
        assert cloud(emulator, st["serviceId"]) is not None
        return
    cond = cluster.wait_condition(
        PLURAL, name, namespace, "False", reason="CredentialsRejected", timeout=60
    )
    assert "APIGW.0301" in cond["message"], cond
    obj = cluster.get(PLURAL, name, namespace)
    assert token not in json.dumps(obj)
    # Refused outright, nothing made: no lookup of "a create that may have succeeded".
    assert "may have succeeded" not in cond["message"]


def test_a_name_taken_in_the_project_is_a_name_conflict(
    cluster: Cluster, emulator: Emulator, namespace: str, modelarts_provider: str
) -> None:
    """ModelArts names are unique in a project: a console user's service holds the name,
    so the create is refused (ModelArts.3503) and the resource says so, naming the field;
    the other service is left alone."""
    taken = f"console-{uuid.uuid4().hex[:8]}"
    theirs = create_elsewhere(emulator, taken)
    name = f"ma-nc-{uuid.uuid4().hex[:8]}"
    cluster.apply(
        {
            "apiVersion": "cloudinfer.io/v1alpha1",
            "kind": "InferenceService",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "providerConfigRef": {"name": "huawei"},
                "serviceName": taken,
                "modelarts": {"models": [{**MODELS[0], "weight": 100}]},
            },
        }
    )
    cond = cluster.wait_condition(PLURAL, name, namespace, "False", reason="NameConflict")
    assert "spec.serviceName" in cond["message"] and "ModelArts.3503" in cond["message"]
    assert [s["service_id"] for s in cloud_services(emulator) if s["service_name"] == taken] == [
        theirs
    ]
    cluster.kubectl("delete", "cisvc", name, "-n", namespace, "--wait=true", "--timeout=60s")
    assert cloud(emulator, theirs) is not None


def test_a_config_edit_on_the_cloud_is_put_back(
    cluster: Cluster, emulator: Emulator, namespace: str, modelarts_provider: str
) -> None:
    """Someone scales a model in the console: the service redeploys, and once it settles the
    operator reads it (ShowService), sees the drift and sends the spec's configuration."""
    name = f"ma-drift-{uuid.uuid4().hex[:8]}"
    apply(cluster, namespace, name)
    service_id = running(cluster, namespace, name)["serviceId"]
    cluster.wait_condition(PLURAL, name, namespace, "True")
    svc = cloud(emulator, service_id) or {}
    keys = ("model_id", "specification", "custom_spec", "instance_count", "weight", "envs")
    edited = [{k: item[k] for k in keys if item.get(k)} for item in svc["config"]]
    edited[0]["instance_count"] = 5
    client = dev_client(emulator)

    async def edit() -> None:
        try:
            await client.update_service_config(service_id, config=edited)
        finally:
            await client.aclose()

    asyncio.run(edit())
    wait_for(
        lambda: (
            (s := cloud(emulator, service_id) or {}).get("status") == "running"
            and [c["instance_count"] for c in s["config"]] == [1, 1]
            and len([c for c in emulator.calls("UpdateService") if service_id in str(c["target"])])
            == 2
        ),
        90,
        "the spec's instance counts back on the cloud",
    )
    assert ("Normal", "UpdatingExternal") in events(cluster, namespace, name)
