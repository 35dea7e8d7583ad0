"""The Helm chart on a real API server, with its own RBAC enforced.

`helm install` into a control plane of its own (the CRDs come from the chart's crds/); the
rendered chart passes a strict server-side dry run; its pod template is admitted under the
"restricted" Pod Security Standard (and would not be without the defaults); and the operator,
run with a token of the chart's ServiceAccount, takes an EAS InferenceService from apply to
Ready and deletion with zero Forbidden in its log, while the permissions the chart does not
grant are shown to be really denied. No kubelet runs here, so the Deployment's pods never
start: the operator runs out of the cluster with the pod's identity instead."""

from __future__ import annotations

import copy
import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import kubernetes
import pytest
import yaml

from cloudinfer.api import crds
from cloudinfer.controlplane import ControlPlane
from cloudinfer.controlplane.binaries import ensure_tools
from cloudinfer.controlplane.kubectl import apply_objects, kubectl
from cloudinfer.controlplane.local import free_port
from cloudinfer.dev import start_operator, stop_process
from tests.integration.conftest import Emulator, Operator, emulator_provider
from tests.support import wait_for

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "cloudinfer"
RELEASE, NAMESPACE = "ci", "cloudinfer-system"
SERVICE_ACCOUNT = f"{RELEASE}-cloudinfer"
SA_USER = f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}"


def helm(kubeconfig: Path, *args: str) -> str:
    result = subprocess.run(
        [str(ensure_tools().helm), f"--kubeconfig={kubeconfig}", *args],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    """A control plane of its own with the chart installed as release `ci`."""
    with ControlPlane() as cp:
        helm(
            cp.kubeconfig,
            "install",
            RELEASE,
            str(CHART),
            f"--namespace={NAMESPACE}",
            "--create-namespace",
        )
        yield cp


def template(kubeconfig: Path, *args: str) -> str:
    return helm(kubeconfig, "template", RELEASE, str(CHART), f"--namespace={NAMESPACE}", *args)


def test_helm_install_creates_the_crds_and_the_operator_objects(installed: ControlPlane) -> None:
    got = kubectl(installed.kubeconfig, "get", "crds", "-o", "name").stdout.split()
    assert sorted(got) == sorted(
        f"customresourcedefinition.apiextensions.k8s.io/{doc['metadata']['name']}"
        for doc in crds.all_crds()
    )
    for kind in ("deployment", "serviceaccount", "service", "poddisruptionbudget"):
        out = kubectl(installed.kubeconfig, "-n", NAMESPACE, "get", kind, "-o", "name").stdout
        assert out.strip(), f"no {kind} installed"
    status = json.loads(
        helm(installed.kubeconfig, "status", RELEASE, "-n", NAMESPACE, "-o", "json")
    )
    assert status["info"]["status"] == "deployed"


@pytest.mark.parametrize(
    "values",
    [
        [],
        ["--set", "installScope=namespace", "--set", "watchNamespaces={default}"],
        ["--set", "replicaCount=1", "--set", "crds.manage=false", "--set", "metrics.enabled=false"],
    ],
    ids=["defaults", "namespace-scope", "minimal"],
)
def test_the_rendered_chart_passes_a_strict_server_side_dry_run(
    installed: ControlPlane, values: list[str]
) -> None:
    rendered = template(installed.kubeconfig, "--include-crds", *values)
    result = kubectl(
        installed.kubeconfig,
        "apply",
        "--server-side",
        "--force-conflicts",
        "--dry-run=server",
        "--validate=strict",
        "-f",
        "-",
        input=rendered,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def _pod_from_the_chart(kubeconfig: Path, namespace: str, *values: str) -> dict[str, Any]:
    docs = yaml.safe_load_all(template(kubeconfig, *values))
    deployment = next(d for d in docs if d and d["kind"] == "Deployment")
    pod_template = copy.deepcopy(deployment["spec"]["template"])
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "from-chart", "namespace": namespace, **pod_template["metadata"]},
        "spec": pod_template["spec"] | {"serviceAccountName": "default"},
    }


def test_the_pod_template_is_admitted_under_restricted_pod_security(
    installed: ControlPlane,
) -> None:
    namespace = f"restricted-{uuid.uuid4().hex[:6]}"
    kubectl(installed.kubeconfig, "create", "namespace", namespace)
    kubectl(
        installed.kubeconfig,
        "label",
        "namespace",
        namespace,
        "pod-security.kubernetes.io/enforce=restricted",
    )

    def dry_run(pod: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        return kubectl(
            installed.kubeconfig,
            "create",
            "--dry-run=server",
            "-f",
            "-",
            input=json.dumps(pod),
            check=False,
        )

    accepted = dry_run(_pod_from_the_chart(installed.kubeconfig, namespace))
    assert accepted.returncode == 0, accepted.stderr
    assert "violate" not in accepted.stderr
    # The check bites: without the chart's security contexts the same pod is refused.
    bare = _pod_from_the_chart(
        installed.kubeconfig,
        namespace,
        "--set-json",
        "securityContext=null",
        "--set-json",
        "podSecurityContext=null",
    )
    refused = dry_run(bare)
    assert refused.returncode != 0
    assert 'violates PodSecurity "restricted' in refused.stderr


def _token_kubeconfig(admin: Path, token: str, path: Path) -> Path:
    config = yaml.safe_load(admin.read_text())
    config["users"] = [{"name": "chart-sa", "user": {"token": token}}]
    config["contexts"][0]["context"]["user"] = "chart-sa"
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


# What the operator never does, so the chart must not grant it (checked with `auth can-i`
# as the ServiceAccount; the run below shows none of it is needed).
NOT_GRANTED = [
    ("delete", "secrets"),
    ("deletecollection", "secrets"),
    ("delete", "inferenceservices.cloudinfer.io"),
    ("update", "inferenceservices.cloudinfer.io"),
    ("create", "inferenceservices.cloudinfer.io"),
    ("create", "customresourcedefinitions.apiextensions.k8s.io"),
    ("delete", "customresourcedefinitions.apiextensions.k8s.io"),
    ("patch", "customresourcedefinitions.apiextensions.k8s.io/other.example.com"),
    ("list", "pods"),
    ("get", "configmaps"),
    ("update", "leases.coordination.k8s.io/someone-elses-lease"),
    ("create", "events.events.k8s.io"),
]


def test_the_operator_works_with_only_the_chart_service_accounts_permissions(
    installed: ControlPlane, emulator: Emulator, tmp_path: Path
) -> None:
    admin = installed.kubeconfig
    for verb, resource in NOT_GRANTED:
        answer = kubectl(
            admin, "auth", "can-i", verb, resource, f"--as={SA_USER}", "-n", "default", check=False
        ).stdout.strip()
        assert answer == "no", f"the chart grants {verb} {resource}"
    token = kubectl(
        admin, "-n", NAMESPACE, "create", "token", SERVICE_ACCOUNT, "--duration=1h"
    ).stdout.strip()
    sa_kubeconfig = _token_kubeconfig(admin, token, tmp_path / "sa.kubeconfig")
    assert SA_USER in kubectl(sa_kubeconfig, "auth", "whoami").stdout

    # An older CRD in the cluster (as after `helm upgrade`, which never touches crds/): the
    # operator's --manage-crds brings it up to date before watching.
    kubectl(
        admin,
        "patch",
        "crd",
        "inferenceservices.cloudinfer.io",
        "--type=json",
        "-p",
        '[{"op": "remove", "path": "/spec/versions/0/additionalPrinterColumns"}]',
    )

    # The arguments the chart's Deployment gives the pod (leader election on its Lease,
    # --manage-crds, ...), with this machine's ports: no kubelet runs it here.
    port = free_port()
    log_path = tmp_path / "operator.log"
    proc = start_operator(sa_kubeconfig, log_path, *_chart_args(admin, port))
    op = Operator(proc, log_path, port)
    try:

        def leading() -> bool:
            try:
                return op.metric("cloudinfer_leader") == 1
            except httpx.HTTPError:  # not serving metrics yet
                return False

        wait_for(lambda: proc.poll() is not None or leading(), 60, "the operator to lead")
        assert proc.poll() is None, op.log()
        api = kubernetes.client.ApiextensionsV1Api(_admin_client(admin))
        columns = api.read_custom_resource_definition("inferenceservices.cloudinfer.io").spec
        want = next(d for d in crds.all_crds() if d["spec"]["names"]["kind"] == "InferenceService")
        assert [c.name for c in columns.versions[0].additional_printer_columns] == [
            c["name"] for c in want["spec"]["versions"][0]["additionalPrinterColumns"]
        ]

        namespace = f"team-{uuid.uuid4().hex[:6]}"
        kubectl(admin, "create", "namespace", namespace)
        apply_objects(admin, emulator_provider(emulator, namespace, "emulator", "creds"))
        name = f"chart{uuid.uuid4().hex[:6]}"
        apply_objects(
            admin,
            [
                {
                    "apiVersion": "cloudinfer.io/v1alpha1",
                    "kind": "InferenceService",
                    "metadata": {"name": name, "namespace": namespace},
                    "spec": {
                        "providerConfigRef": {"name": "emulator"},
                        "writeConnectionSecretToRef": {"name": f"{name}-conn"},
                        "eas": {
                            "processor": "pmml",
                            "modelPath": "oss://models/chart.pmml",
                            "instances": 1,
                            "cpu": 1,
                            "memory": 2000,
                        },
                    },
                }
            ],
        )
        custom = kubernetes.client.CustomObjectsApi(_admin_client(admin))

        def ready() -> bool:
            obj = custom.get_namespaced_custom_object(
                "cloudinfer.io", "v1alpha1", namespace, "inferenceservices", name
            )
            conditions = obj.get("status", {}).get("conditions", [])
            return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

        wait_for(ready, 60, f"{name} to be Ready")
        core = kubernetes.client.CoreV1Api(_admin_client(admin))
        assert core.read_namespaced_secret(f"{name}-conn", namespace).data
        custom.delete_namespaced_custom_object(
            "cloudinfer.io", "v1alpha1", namespace, "inferenceservices", name
        )

        def gone() -> bool:
            items = custom.list_namespaced_custom_object(
                "cloudinfer.io", "v1alpha1", namespace, "inferenceservices"
            )["items"]
            return not items

        wait_for(gone, 60, f"{name} to be deleted")
        assert emulator.service(name) is None
    finally:
        stop_process(proc)
    log = op.log()
    for refusal in ("Forbidden", " 403", "Not enough permissions"):  # the last is kopf's
        assert refusal not in log, log


def _chart_args(kubeconfig: Path, metrics_port: int) -> list[str]:
    """`cloudinfer run`'s arguments in the installed release's Deployment, with the metrics
    on `metrics_port` and no liveness server (the ports are this machine's to choose)."""
    manifest = helm(kubeconfig, "get", "manifest", RELEASE, "-n", NAMESPACE)
    deployment = next(d for d in yaml.safe_load_all(manifest) if d and d["kind"] == "Deployment")
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[0] == "run"
    kept = [a for a in args[1:] if not a.startswith(("--liveness=", "--metrics-port="))]
    assert "--manage-crds" in kept and "--leader-election" in kept, kept
    return [*kept, f"--metrics-port={metrics_port}", "--verbose"]


def _admin_client(kubeconfig: Path) -> kubernetes.client.ApiClient:
    configuration = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(
        config_file=str(kubeconfig), client_configuration=configuration
    )
    return kubernetes.client.ApiClient(configuration)
