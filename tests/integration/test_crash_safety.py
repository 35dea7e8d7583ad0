"""Kill -9 the operator while creates are in flight (some answers lost too), restart it:
every resource ends with exactly one service, stamped with its uid, and nothing leaks.

Runs on its own control plane with its own operator process, so the session operator
cannot help."""

from __future__ import annotations

import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import kubernetes
import pytest

from cloudinfer.controlplane import ControlPlane
from cloudinfer.controlplane.kubectl import apply_objects, install_crds
from cloudinfer.dev import start_operator, stop_process
from tests.integration.conftest import OPERATOR_NAMESPACE, Emulator, emulator_provider
from tests.support import wait_for

COUNT = 8


@pytest.fixture
def solo(tmp_path: Path) -> Iterator[ControlPlane]:
    with ControlPlane() as cp:
        install_crds(cp.kubeconfig, OPERATOR_NAMESPACE)
        yield cp


def test_kill_nine_during_creates_never_duplicates_or_leaks(
    solo: ControlPlane, emulator: Emulator, tmp_path: Path
) -> None:
    kc = solo.kubeconfig
    ns = f"crash-{uuid.uuid4().hex[:6]}"
    names = [f"c{i}-{uuid.uuid4().hex[:6]}" for i in range(COUNT)]
    docs = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
        *emulator_provider(emulator, ns, "emulator", "creds"),
    ] + [
        {
            "apiVersion": "cloudinfer.io/v1alpha1",
            "kind": "InferenceService",
            "metadata": {"name": n, "namespace": ns},
            "spec": {
                "providerConfigRef": {"name": "emulator"},
                "eas": {"processor": "p", "instances": 1, "cpu": 1, "memory": 100},
            },
        }
        for n in names
    ]
    apply_objects(kc, docs)
    ours = {n.replace("-", "_") for n in names}

    def creates() -> list[dict[str, object]]:
        return [c for c in emulator.calls("CreateService") if c["target"] in ours]

    # Creates are slow, and two of them lose their answers after committing.
    emulator.fault(kind="latency", operation="CreateService", seconds=0.4)
    emulator.fault(kind="drop-response", operation="CreateService", count=2)
    try:
        for round_, threshold in enumerate((1, COUNT // 2)):
            operator = start_operator(kc, tmp_path / f"operator-{round_}.log")
            wait_for(lambda t=threshold: len(creates()) >= t, 60, f"{threshold} creates")
            operator.send_signal(signal.SIGKILL)
            operator.wait(10)
        emulator.clear_faults()
        operator = start_operator(kc, tmp_path / "operator-final.log")
        try:
            api = kubernetes.config.new_client_from_config(config_file=str(kc))
            custom = kubernetes.client.CustomObjectsApi(api)

            def all_ready() -> bool:
                items = custom.list_namespaced_custom_object(
                    "cloudinfer.io", "v1alpha1", ns, "inferenceservices"
                )["items"]
                return len(items) == COUNT and all(
                    any(
                        c["type"] == "Ready" and c["status"] == "True"
                        for c in (i.get("status") or {}).get("conditions", [])
                    )
                    for i in items
                )

            wait_for(all_ready, 90, "every InferenceService Ready after the restarts")
            uids = {
                i["metadata"]["name"].replace("-", "_"): i["metadata"]["uid"]
                for i in custom.list_namespaced_custom_object(
                    "cloudinfer.io", "v1alpha1", ns, "inferenceservices"
                )["items"]
            }
        finally:
            stop_process(operator)
    finally:
        emulator.clear_faults()

    emulator.assert_one_service_each(ns, ours, uids)
    # Lost answers and kills cost at most a few extra create attempts, each refused by name.
    assert all(c["status"] in (200, 409) for c in creates())
