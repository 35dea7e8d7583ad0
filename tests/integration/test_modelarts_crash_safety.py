"""Kill -9 the operator while ModelArts creates are in flight (some answers lost too), restart
it: every resource ends Ready with exactly one service, stamped with its uid, recorded by its
id, and deleting them all leaves nothing on the cloud.

ModelArts names a service by the id it returns, so a create whose answer is lost, or whose
caller died, leaves nothing recorded but the `cloudinfer.io/create-pending` annotation; the
restarted operator must find the service by its owner marker (`find_owned`), not create a
second one.

Runs on its own control plane with its own operator process, so the session operator cannot
help, and in its own ModelArts project, so the emulator's listing of that project is exactly
what this test made, whatever else shares the session emulator."""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import kubernetes

from cloudinfer.controlplane import ControlPlane
from cloudinfer.controlplane.kubectl import apply_objects
from cloudinfer.dev import start_operator, stop_process
from tests.integration.conftest import DEV_KEY, Emulator, is_ready, kill_nine
from tests.support import wait_for

COUNT = 8
CLOUD = "huawei-modelarts"
GROUP, VERSION, PLURAL = "cloudinfer.io", "v1alpha1", "inferenceservices"
OWNER, RESOURCE = "cloudinfer-uid", "cloudinfer-resource"
CREATE_PENDING, EXTERNAL_NAME = "cloudinfer.io/create-pending", "cloudinfer.io/external-name"


def modelarts_provider(emulator: Emulator, namespace: str, project: str) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "huawei-creds", "namespace": namespace},
            "stringData": {"accessKeyId": DEV_KEY[0], "accessKeySecret": DEV_KEY[1]},
        },
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "ProviderConfig",
            "metadata": {"name": "huawei", "namespace": namespace},
            "spec": {
                "cloud": CLOUD,
                "region": "cn-north-4",
                "projectId": project,
                "endpoint": emulator.url,
                "credentialsSecretRef": {"name": "huawei-creds"},
                "pollIntervals": {"transitionalSeconds": 1, "stableSeconds": 10},
            },
        },
    ]


def inference_service(namespace: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "InferenceService",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "providerConfigRef": {"name": "huawei"},
            "modelarts": {
                "models": [
                    {"modelId": "model-a", "specification": "modelarts.vm.cpu.2u", "weight": 100}
                ]
            },
        },
    }


def test_kill_nine_during_modelarts_creates_never_duplicates_or_leaks(
    solo: ControlPlane, emulator: Emulator, tmp_path: Path
) -> None:
    kc = solo.kubeconfig
    ns = f"macrash-{uuid.uuid4().hex[:6]}"
    project = uuid.uuid4().hex  # this test's alone: its listing is exactly what we made
    first = [f"a{i}-{uuid.uuid4().hex[:6]}" for i in range(COUNT // 2)]
    second = [f"b{i}-{uuid.uuid4().hex[:6]}" for i in range(COUNT - len(first))]
    names = first + second
    apply_objects(
        kc,
        [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
            *modelarts_provider(emulator, ns, project),
            *(inference_service(ns, n) for n in first),
        ],
    )
    api = kubernetes.config.new_client_from_config(config_file=str(kc))
    custom: Any = kubernetes.client.CustomObjectsApi(api)

    def items() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = custom.list_namespaced_custom_object(
            GROUP, VERSION, ns, PLURAL
        )["items"]
        return found

    def services() -> list[dict[str, Any]]:
        """Every ModelArts service in this test's project, deleting ones included."""
        found: list[dict[str, Any]] = emulator.admin(
            "GET", f"/modelarts/services?project={project}"
        )
        return found

    def creates() -> list[dict[str, Any]]:
        return [
            c
            for c in emulator.calls("CreateService")
            if c["cloud"] == CLOUD and c["target"] in names
        ]

    def state() -> str:
        """What a failed check shows: each resource's annotations and conditions, and the
        project's services."""
        resources = {
            i["metadata"]["name"]: (
                i["metadata"].get("annotations"),
                [
                    (c["type"], c["status"], c.get("reason"), c.get("message"))
                    for c in (i.get("status") or {}).get("conditions") or []
                ],
            )
            for i in items()
        }
        cloud = [
            (s["service_name"], s["service_id"], s["status"], s["additional_properties"])
            for s in services()
        ]
        return f"resources: {resources}\nservices: {cloud}"

    try:
        # 1. The first half's creates all reach the cloud and are still being handled when the
        # operator dies; they commit afterwards, with no one left to hear the answers.
        slow = emulator.fault(
            kind="latency", operation="CreateService", cloud=CLOUD, seconds=3, count=len(first)
        )
        operator = start_operator(kc, tmp_path / "operator-0.log", "--verbose")
        try:
            wait_for(
                lambda: emulator.spent(slow), 60, "the first half's creates to reach the cloud"
            )
        finally:
            kill_nine(operator)
        lost = {
            i["metadata"]["name"]
            for i in items()
            if CREATE_PENDING in (i["metadata"].get("annotations") or {})
            and EXTERNAL_NAME not in (i["metadata"].get("annotations") or {})
        }
        assert lost == set(first), f"every first-half create in flight at the kill\n{state()}"
        wait_for(
            lambda: {c["target"] for c in creates()} == set(first),
            30,
            "the first half's creates to commit after the kill",
        )

        # 2. The restarted operator must find those by their owner marker, and creates the
        # second half: two of its answers are lost, and it dies as the answers come in.
        apply_objects(kc, [inference_service(ns, n) for n in second])
        emulator.fault(kind="latency", operation="CreateService", cloud=CLOUD, seconds=0.3)
        drop = emulator.fault(kind="drop-response", operation="CreateService", cloud=CLOUD, count=2)
        operator = start_operator(kc, tmp_path / "operator-1.log", "--verbose")
        try:
            wait_for(
                lambda: emulator.spent(drop) and any(c["target"] in second for c in creates()),
                60,
                "two lost answers and a second-half create",
                interval=0.02,
            )
        finally:
            kill_nine(operator)
    finally:
        emulator.clear_faults()

    operator = start_operator(kc, tmp_path / "operator-final.log", "--verbose")
    try:
        try:
            wait_for(
                lambda: (lambda got: len(got) == COUNT and all(map(is_ready, got)))(items()),
                90,
                "every InferenceService Ready after the restarts",
            )
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{state()}") from None
        got = items()
        uids = {i["metadata"]["name"]: i["metadata"]["uid"] for i in got}
        ids = {i["metadata"]["name"]: (i.get("status") or {}).get("serviceId") for i in got}

        # Exactly one service per resource, stamped with its uid and recorded by its id;
        # nothing else in the project (no duplicate, no unowned leftover).
        listed = services()
        by_owner: dict[str, list[str]] = {}
        for svc in listed:
            owner = svc["additional_properties"].get(OWNER)
            assert owner in uids.values(), f"a service no resource of ours owns: {svc}"
            by_owner.setdefault(owner, []).append(svc["service_id"])
        for name, uid in uids.items():
            assert by_owner.get(uid) == [ids[name]], (
                f"{name} (uid {uid}, status.serviceId {ids[name]}): services {by_owner.get(uid)}"
            )
        assert len(listed) == COUNT, state()
        for svc in listed:
            props = svc["additional_properties"]
            assert props[RESOURCE] == f"{ns}.{svc['service_name']}"
            assert uids[svc["service_name"]] == props[OWNER]
        # Kills and lost answers cost at most an extra create attempt here and there, each one
        # refused by name (ModelArts names are unique in a project): one success per resource.
        calls = creates()
        assert all(c["status"] in (200, 409) for c in calls), calls
        made = Counter(c["target"] for c in calls if c["status"] == 200)
        assert made == dict.fromkeys(names, 1), calls

        # Deleting them all deletes every service: the finalizer stays until the cloud
        # confirms each one gone.
        custom.delete_collection_namespaced_custom_object(GROUP, VERSION, ns, PLURAL)
        try:
            wait_for(lambda: not items(), 60, "every InferenceService deleted")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{state()}") from None
        assert services() == [], "services left on the cloud after their resources were deleted"
    finally:
        stop_process(operator)
        api.close()
