"""Kill -9 the operator while VIAS deploys are in flight (some answers lost too), restart
it: every AlgorithmService ends Ready with its algorithm deployed once, and deleting them all
stops every deployment.

VIAS is client-named: the algorithm id is the name, recorded on the resource (the
`cloudinfer.io/external-name` annotation) before the first deploy. The cloud refuses a second
deploy while one runs, and upgrades a running one: either would show as a second
DeployAlgorithm call. A deploy whose answer is lost, or whose caller died, must be recognised
as this resource's by the recorded name when the restarted operator sees the deployment, not
sent again, and not taken for someone else's (a NameConflict).

Runs on its own control plane with its own operator process, so the session operator cannot
help, and in its own VIAS project with its own algorithms, so the emulator's listing of that
project is exactly what this test made."""

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
CLOUD = "huawei-vias"
DEPLOY, STOP = "DeployAlgorithm", "StopDeployAlgorithm"
GROUP, VERSION, PLURAL = "cloudinfer.io", "v1alpha1", "algorithmservices"
EXTERNAL_NAME = "cloudinfer.io/external-name"


def vias_provider(emulator: Emulator, namespace: str, project: str) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "vias-creds", "namespace": namespace},
            "stringData": {"accessKeyId": DEV_KEY[0], "accessKeySecret": DEV_KEY[1]},
        },
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "ProviderConfig",
            "metadata": {"name": "vias", "namespace": namespace},
            "spec": {
                "cloud": CLOUD,
                "region": "cn-north-4",
                "projectId": project,
                "endpoint": emulator.url,
                "credentialsSecretRef": {"name": "vias-creds"},
                "pollIntervals": {"transitionalSeconds": 1, "stableSeconds": 10},
            },
        },
    ]


def algorithm_service(namespace: str, name: str, alg_id: str, streams: int) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "AlgorithmService",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "providerConfigRef": {"name": "vias"},
            "algId": alg_id,
            "poolId": "pool-1",
            "streamCount": streams,
        },
    }


def test_kill_nine_during_vias_deploys_never_deploys_twice(
    solo: ControlPlane, emulator: Emulator, tmp_path: Path
) -> None:
    kc = solo.kubeconfig
    ns = f"ascrash-{uuid.uuid4().hex[:6]}"
    project = uuid.uuid4().hex  # this test's alone: its listing is ours only
    names = [f"a{i}-{uuid.uuid4().hex[:6]}" for i in range(COUNT)]
    algs = {name: str(uuid.uuid4()) for name in names}
    streams = {name: i + 1 for i, name in enumerate(names)}
    for name, alg_id in algs.items():
        emulator.admin("PUT", f"/vias/algorithms/{alg_id}", {"project": project, "name": name})
    first, second = names[: COUNT // 2], names[COUNT // 2 :]
    apply_objects(
        kc,
        [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
            *vias_provider(emulator, ns, project),
            *(algorithm_service(ns, n, algs[n], streams[n]) for n in first),
        ],
    )
    api = kubernetes.config.new_client_from_config(config_file=str(kc))
    custom: Any = kubernetes.client.CustomObjectsApi(api)

    def items() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = custom.list_namespaced_custom_object(
            GROUP, VERSION, ns, PLURAL
        )["items"]
        return found

    def services() -> dict[str, dict[str, Any]]:
        """The project's service records by algorithm id."""
        found = emulator.admin("GET", f"/vias/services?project={project}")
        return {s["alg_id"]: s for s in found}

    def calls(operation: str, among: list[str]) -> list[dict[str, Any]]:
        wanted = {algs[n] for n in among}
        return [c for c in emulator.calls(operation) if c["target"] in wanted]

    def state() -> str:
        """What a failed check shows: each resource's annotations and conditions, each
        algorithm's service record, and the deploy calls."""
        resources = {
            i["metadata"]["name"]: (
                (i["metadata"].get("annotations") or {}).get(EXTERNAL_NAME),
                [
                    (c["type"], c["status"], c.get("reason"), c.get("message"))
                    for c in (i.get("status") or {}).get("conditions") or []
                ],
            )
            for i in items()
        }
        cloud = {a: (s["alg_status"], s.get("stream_count")) for a, s in services().items()}
        deploys = [(c["target"], c["status"]) for c in calls(DEPLOY, names)]
        return f"resources: {resources}\nservices: {cloud}\ndeploys: {deploys}"

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
        recorded = {
            i["metadata"]["name"]: (i["metadata"].get("annotations") or {}).get(EXTERNAL_NAME)
            for i in items()
        }
        # Client-named: the name is on record before the deploy is sent.
        assert recorded == {n: algs[n] for n in first}, state()
        wait_for(
            lambda: {c["target"] for c in calls(DEPLOY, first)} == {algs[n] for n in first},
            30,
            "the first half's deploys to commit after the kill",
        )

        # 2. The restarted operator must take those as its own, and deploys the second half:
        # two of its answers are lost, and it dies as the answers come in.
        apply_objects(kc, [algorithm_service(ns, n, algs[n], streams[n]) for n in second])
        emulator.fault(kind="latency", operation=DEPLOY, cloud=CLOUD, seconds=0.3)
        drop = emulator.fault(kind="drop-response", operation=DEPLOY, cloud=CLOUD, count=2)
        operator = start_operator(kc, tmp_path / "operator-1.log", "--verbose")
        try:
            wait_for(
                lambda: emulator.spent(drop) and bool(calls(DEPLOY, second)),
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
                "every AlgorithmService Ready after the restarts",
            )
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{state()}") from None

        # Each algorithm deployed once, with its resource's settings, and running; each
        # resource records its service.
        cloud = services()
        for item in items():
            name = item["metadata"]["name"]
            svc = cloud[algs[name]]
            assert svc["alg_status"] == "service_running", state()
            assert svc["stream_count"] == streams[name], state()
            assert item["status"]["serviceId"] == svc["service_id"], state()
        deploys = calls(DEPLOY, names)
        assert all(c["status"] == 200 for c in deploys), state()
        assert Counter(c["target"] for c in deploys) == dict.fromkeys(algs.values(), 1), state()

        # Deleting them all stops every deployment: the finalizer stays until the cloud
        # confirms each one stopped.
        custom.delete_collection_namespaced_custom_object(GROUP, VERSION, ns, PLURAL)
        try:
            wait_for(lambda: not items(), 60, "every AlgorithmService deleted")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{state()}") from None
        assert {a: s["alg_status"] for a, s in services().items()} == dict.fromkeys(
            algs.values(), "service_stopped"
        )
        assert Counter(c["target"] for c in calls(STOP, names)) == dict.fromkeys(algs.values(), 1)
    finally:
        stop_process(operator)
        api.close()
