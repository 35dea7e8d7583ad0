"""The namespaced kustomize overlay for real: its RBAC applied to an API server of its own,
and the operator run with a token of its ServiceAccount and its Deployment's arguments
(watching team-a and cloudinfer-system only). An InferenceService in team-a goes from apply
to Ready (on a ProviderConfig) and to deletion, its ProviderConfig is released and deleted, a
ClusterProviderConfig becomes Ready and is deleted, all with zero refusals in the log: the
overlay's Roles and small ClusterRole are enough."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import kubernetes
import pytest
import yaml

from cloudinfer.api.kinds import GROUP, VERSION
from cloudinfer.controlplane import ControlPlane
from cloudinfer.controlplane.kubectl import apply_objects, kubectl
from cloudinfer.controlplane.local import free_port
from cloudinfer.dev import start_operator, stop_process
from tests.integration.conftest import DEV_KEY, ROOT, Emulator, Operator, emulator_provider
from tests.integration.test_chart import _admin_client, _token_kubeconfig
from tests.support import wait_for

TEAM, SYSTEM = "team-a", "cloudinfer-system"
SA = "cloudinfer-controller"


def _overlay() -> list[dict[str, Any]]:
    out = subprocess.run(
        ["kubectl", "kustomize", str(ROOT / "config" / "overlays" / "namespaced")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return [d for d in yaml.safe_load_all(out) if d]


@pytest.fixture(scope="module")
def installed() -> Iterator[ControlPlane]:
    with ControlPlane() as cp:
        kubectl(cp.kubeconfig, "create", "namespace", TEAM)
        docs = _overlay()
        kubectl(
            cp.kubeconfig,
            "apply",
            "--server-side",
            "-f",
            "-",
            input="\n---\n".join(yaml.safe_dump(d) for d in docs),
        )
        yield cp


def _args(metrics_port: int) -> list[str]:
    deployment = next(d for d in _overlay() if d["kind"] == "Deployment")
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    kept = [a for a in args[1:] if not a.startswith(("--liveness=", "--metrics-port="))]
    assert f"--namespace={TEAM}" in kept and f"--namespace={SYSTEM}" in kept, kept
    return [*kept, f"--metrics-port={metrics_port}", "--verbose"]


def _ready(obj: dict[str, Any]) -> bool:
    conditions = obj.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def test_the_operator_works_with_only_the_namespaced_overlays_permissions(
    installed: ControlPlane, emulator: Emulator, tmp_path: Path
) -> None:
    admin = installed.kubeconfig
    user = f"system:serviceaccount:{SYSTEM}:{SA}"
    for verb, resource, namespace in [
        ("list", "secrets", "default"),  # outside the watched namespaces
        ("list", "inferenceservices.cloudinfer.io", "default"),
        ("create", "events", "default"),
    ]:
        answer = kubectl(
            admin, "auth", "can-i", verb, resource, f"--as={user}", "-n", namespace, check=False
        ).stdout.strip()
        assert answer == "no", f"the overlay grants {verb} {resource} in {namespace}"
    token = kubectl(admin, "-n", SYSTEM, "create", "token", SA, "--duration=1h").stdout.strip()
    sa_kubeconfig = _token_kubeconfig(admin, token, tmp_path / "sa.kubeconfig")

    port = free_port()
    log_path = tmp_path / "operator.log"
    proc = start_operator(sa_kubeconfig, log_path, *_args(port))
    op = Operator(proc, log_path, port)
    custom = kubernetes.client.CustomObjectsApi(_admin_client(admin))
    try:

        def leading() -> bool:
            try:
                return op.metric("cloudinfer_leader") == 1
            except httpx.HTTPError:
                return False

        wait_for(lambda: proc.poll() is not None or leading(), 60, "the operator to lead")
        assert proc.poll() is None, op.log()

        # A namespaced ProviderConfig and a service on it, in the watched team namespace.
        apply_objects(admin, emulator_provider(emulator, TEAM, "emulator", "creds"))
        name = f"kust{uuid.uuid4().hex[:6]}"
        apply_objects(
            admin,
            [
                {
                    "apiVersion": f"{GROUP}/{VERSION}",
                    "kind": "InferenceService",
                    "metadata": {"name": name, "namespace": TEAM},
                    "spec": {
                        "providerConfigRef": {"name": "emulator"},
                        "writeConnectionSecretToRef": {"name": f"{name}-conn"},
                        "eas": {
                            "processor": "pmml",
                            "modelPath": "oss://models/kustomize.pmml",
                            "instances": 1,
                            "cpu": 1,
                            "memory": 2000,
                        },
                    },
                }
            ],
        )

        def get(plural: str, obj: str, namespace: str | None = TEAM) -> dict[str, Any] | None:
            try:
                if namespace is None:
                    return dict(custom.get_cluster_custom_object(GROUP, VERSION, plural, obj))
                return dict(
                    custom.get_namespaced_custom_object(GROUP, VERSION, namespace, plural, obj)
                )
            except kubernetes.client.ApiException as exc:
                if exc.status == 404:
                    return None
                raise

        wait_for(lambda: _ready(get("inferenceservices", name) or {}), 60, f"{name} Ready")
        custom.delete_namespaced_custom_object(GROUP, VERSION, TEAM, "inferenceservices", name)
        wait_for(lambda: get("inferenceservices", name) is None, 60, f"{name} deleted")
        assert emulator.service(name) is None
        # Its ProviderConfig is released (in-use finalizer off) and goes.
        custom.delete_namespaced_custom_object(GROUP, VERSION, TEAM, "providerconfigs", "emulator")
        wait_for(lambda: get("providerconfigs", "emulator") is None, 60, "ProviderConfig gone")

        # A ClusterProviderConfig with its Secret in the operator's namespace.
        apply_objects(
            admin,
            [
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": "shared-creds", "namespace": SYSTEM},
                    "stringData": {"accessKeyId": DEV_KEY[0], "accessKeySecret": DEV_KEY[1]},
                },
                {
                    "apiVersion": f"{GROUP}/{VERSION}",
                    "kind": "ClusterProviderConfig",
                    "metadata": {"name": "shared"},
                    "spec": {
                        "cloud": "alibaba-eas",
                        "region": "cn-shanghai",
                        "endpoint": emulator.url,
                        "credentialsSecretRef": {"name": "shared-creds"},
                    },
                },
            ],
        )
        wait_for(
            lambda: _ready(get("clusterproviderconfigs", "shared", None) or {}),
            60,
            "the ClusterProviderConfig to be Ready",
        )
        custom.delete_cluster_custom_object(GROUP, VERSION, "clusterproviderconfigs", "shared")
        wait_for(
            lambda: get("clusterproviderconfigs", "shared", None) is None,
            60,
            "the ClusterProviderConfig to go",
        )
    finally:
        stop_process(proc)
    log = op.log()
    for refusal in ("Forbidden", " 403", "Not enough permissions"):
        assert refusal not in log, log
