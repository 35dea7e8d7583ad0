"""Kill -9 the operator while DataArts Fabric deploys are in flight (some answers lost too),
restart it: every ServiceInstance ends Ready with exactly one instance, marked with its uid,
recorded by its id, and deleting them all leaves nothing in the workspace.

Fabric names an instance by the id DeployServiceInstance returns, and instance names need not
be unique, so nothing on the cloud refuses a second deploy: a deploy whose answer is lost, or
whose caller died, leaves nothing recorded but the `cloudinfer.io/create-pending` annotation,
and the restarted operator must find the instance by its owner marker (the description's
`[cloudinfer-uid: <uid> ns: <namespace>]` suffix, `find_owned`), not deploy a second one.

Runs on its own control plane with its own operator process, so the session operator cannot
help, and in its own Fabric workspace, on an endpoint with room for far more than it asks
(capacity never refuses here), so the emulator's listing of that workspace is exactly what
this test made, whatever else shares the session emulator."""

from __future__ import annotations

import re
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
CLOUD = "huawei-fabric"
DEPLOY = "DeployServiceInstance"
GROUP, VERSION, PLURAL = "cloudinfer.io", "v1alpha1", "serviceinstances"
CREATE_PENDING, EXTERNAL_NAME = "cloudinfer.io/create-pending", "cloudinfer.io/external-name"
DESCRIPTION = "crash safety"
MARKER = re.compile(r"\[cloudinfer-uid: ([0-9a-fA-F-]+) ns: ([a-z0-9-]+)\]$")


def fabric_provider(emulator: Emulator, namespace: str, workspace: str) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "fabric-creds", "namespace": namespace},
            "stringData": {"accessKeyId": DEV_KEY[0], "accessKeySecret": DEV_KEY[1]},
        },
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "ProviderConfig",
            "metadata": {"name": "fabric", "namespace": namespace},
            "spec": {
                "cloud": CLOUD,
                "region": "cn-north-4",
                "workspaceId": workspace,
                "endpoint": emulator.url,
                "credentialsSecretRef": {"name": "fabric-creds"},
                "pollIntervals": {"transitionalSeconds": 1, "stableSeconds": 10},
            },
        },
    ]


def service_instance(namespace: str, name: str, endpoint_id: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ServiceInstance",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "providerConfigRef": {"name": "fabric"},
            "endpointId": endpoint_id,
            "source": {"id": "llama3-8b", "versionId": "v1"},
            "description": DESCRIPTION,
            "resource": {"min": 1, "max": 1, "specCode": "mu.llama3.8b"},
        },
    }


def owner(instance: dict[str, Any]) -> str | None:
    found = MARKER.search(instance.get("description") or "")
    return found.group(1) if found else None


def test_kill_nine_during_fabric_deploys_never_duplicates_or_leaks(
    solo: ControlPlane, emulator: Emulator, tmp_path: Path
) -> None:
    kc = solo.kubeconfig
    ns = f"sicrash-{uuid.uuid4().hex[:6]}"
    workspace = f"ws-{uuid.uuid4().hex[:12]}"  # this test's alone: its listing is ours only
    endpoint_id = f"ep-{uuid.uuid4().hex[:8]}"
    # Room for far more than COUNT instances of max 1: capacity never refuses a deploy here.
    emulator.admin(
        "PUT",
        f"/fabric/endpoints/{endpoint_id}",
        {"workspace": workspace, "spec_code": "mu.llama3.8b", "max": 1000},
    )
    first = [f"a{i}-{uuid.uuid4().hex[:6]}" for i in range(COUNT // 2)]
    second = [f"b{i}-{uuid.uuid4().hex[:6]}" for i in range(COUNT - len(first))]
    names = first + second
    apply_objects(
        kc,
        [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
            *fabric_provider(emulator, ns, workspace),
            *(service_instance(ns, n, endpoint_id) for n in first),
        ],
    )
    api = kubernetes.config.new_client_from_config(config_file=str(kc))
    custom: Any = kubernetes.client.CustomObjectsApi(api)

    def items() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = custom.list_namespaced_custom_object(
            GROUP, VERSION, ns, PLURAL
        )["items"]
        return found

    def instances() -> list[dict[str, Any]]:
        """Every Fabric instance in this test's workspace, deleting ones included."""
        found: list[dict[str, Any]] = emulator.admin(
            "GET", f"/fabric/instances?workspace={workspace}"
        )
        return found

    def deploys() -> list[dict[str, Any]]:
        """DeployServiceInstance calls for our resources (the call log names the instance's
        name, which is the resource's)."""
        return [c for c in emulator.calls(DEPLOY) if c["cloud"] == CLOUD and c["target"] in names]

    def state() -> str:
        """What a failed check shows: each resource's annotations, conditions and instanceId,
        and the workspace's instances."""
        resources = {
            i["metadata"]["name"]: (
                i["metadata"].get("annotations"),
                (i.get("status") or {}).get("instanceId"),
                [
                    (c["type"], c["status"], c.get("reason"), c.get("message"))
                    for c in (i.get("status") or {}).get("conditions") or []
                ],
            )
            for i in items()
        }
        cloud = [(s["name"], s["id"], s["status"], s["description"]) for s in instances()]
        return f"resources: {resources}\ninstances: {cloud}"

    try:
        # 1. The first half's deploys all reach the cloud and are still being handled when the
        # operator dies; they commit afterwards, with no one left to hear the answers.
        slow = emulator.fault(
            kind="latency", operation=DEPLOY, cloud=CLOUD, seconds=3, count=len(first)
        )
        operator = start_operator(kc, tmp_path / "operator-0.log", "--verbose")
        try:
            wait_for(
                lambda: emulator.spent(slow), 60, "the first half's deploys to reach the cloud"
            )
        finally:
            kill_nine(operator)
        lost = {
            i["metadata"]["name"]
            for i in items()
            if CREATE_PENDING in (i["metadata"].get("annotations") or {})
            and EXTERNAL_NAME not in (i["metadata"].get("annotations") or {})
        }
        assert lost == set(first), f"every first-half deploy in flight at the kill\n{state()}"
        wait_for(
            lambda: {c["target"] for c in deploys()} == set(first),
            30,
            "the first half's deploys to commit after the kill",
        )

        # 2. The restarted operator must find those by their owner marker, and deploys the
        # second half: two of its answers are lost, and it dies as the answers come in.
        apply_objects(kc, [service_instance(ns, n, endpoint_id) for n in second])
        emulator.fault(kind="latency", operation=DEPLOY, cloud=CLOUD, seconds=0.3)
        drop = emulator.fault(kind="drop-response", operation=DEPLOY, cloud=CLOUD, count=2)
        operator = start_operator(kc, tmp_path / "operator-1.log", "--verbose")
        try:
            wait_for(
                lambda: emulator.spent(drop) and any(c["target"] in second for c in deploys()),
                60,
                "two lost answers and a second-half deploy",
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
                "every ServiceInstance Ready after the restarts",
            )
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{state()}") from None
        got = items()
        uids = {i["metadata"]["name"]: i["metadata"]["uid"] for i in got}
        ids = {i["metadata"]["name"]: (i.get("status") or {}).get("instanceId") for i in got}

        # Exactly one instance per resource, marked with its uid and recorded by its id;
        # nothing else in the workspace (no duplicate, no unowned leftover).
        listed = instances()
        by_owner: dict[str, list[str]] = {}
        for inst in listed:
            uid = owner(inst)
            assert uid in uids.values(), f"an instance no resource of ours owns: {inst}"
            by_owner.setdefault(uid, []).append(inst["id"])
        for name, uid in uids.items():
            assert by_owner.get(uid) == [ids[name]], (
                f"{name} (uid {uid}, status.instanceId {ids[name]}): instances "
                f"{by_owner.get(uid)}\n{state()}"
            )
        assert len(listed) == COUNT, state()
        for inst in listed:
            assert inst["description"] == f"{DESCRIPTION} [cloudinfer-uid: {owner(inst)} ns: {ns}]"
            assert uids[inst["name"]] == owner(inst)
            assert inst["endpoint_id"] == endpoint_id and inst["status"] == "RUNNING"
        # Nothing on the cloud refuses a second deploy of a name: kills and lost answers may
        # cost no deploy at all beyond the one per resource (a lost one is found, not redone).
        calls = deploys()
        assert all(c["status"] == 200 for c in calls), calls
        assert Counter(c["target"] for c in calls) == dict.fromkeys(names, 1), calls

        # Deleting them all deletes every instance: the finalizer stays until the cloud
        # confirms each one gone.
        custom.delete_collection_namespaced_custom_object(GROUP, VERSION, ns, PLURAL)
        try:
            wait_for(lambda: not items(), 60, "every ServiceInstance deleted")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{state()}") from None
        assert instances() == [], "instances left in the workspace after their resources went"
    finally:
        stop_process(operator)
        api.close()
