"""Integration fixtures: a real etcd + kube-apiserver for the session, the CRDs applied,
the operator running as a subprocess (`cloudinfer run`), and a fresh namespace per test."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubernetes
import pytest

from cloudinfer.api.kinds import GROUP, VERSION
from cloudinfer.controlplane import ControlPlane
from tests.support import wait_for

ROOT = Path(__file__).resolve().parents[2]
OPERATOR_NAMESPACE = "cloudinfer-system"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@dataclass
class Cluster:
    control_plane: ControlPlane
    api: kubernetes.client.ApiClient

    @property
    def kubeconfig(self) -> Path:
        return self.control_plane.kubeconfig

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["kubectl", f"--kubeconfig={self.kubeconfig}", *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed:\n{result.stderr}")
        return result

    @property
    def core(self) -> kubernetes.client.CoreV1Api:
        return kubernetes.client.CoreV1Api(self.api)

    @property
    def custom(self) -> kubernetes.client.CustomObjectsApi:
        return kubernetes.client.CustomObjectsApi(self.api)

    def get(self, plural: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        if namespace is None:
            obj = self.custom.get_cluster_custom_object(GROUP, VERSION, plural, name)
        else:
            obj = self.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
        result: dict[str, Any] = obj
        return result

    def condition(
        self, plural: str, name: str, namespace: str | None, type_: str = "Ready"
    ) -> dict[str, Any] | None:
        for cond in (self.get(plural, name, namespace).get("status") or {}).get("conditions") or []:
            if cond["type"] == type_:
                return dict(cond)
        return None

    def wait_condition(
        self,
        plural: str,
        name: str,
        namespace: str | None,
        status: str,
        reason: str | None = None,
        timeout: float = 30,
    ) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            cond = self.condition(plural, name, namespace)
            if cond and cond["status"] == status and (reason is None or cond["reason"] == reason):
                return cond
            return None

        return wait_for(probe, timeout, f"{plural}/{name} Ready={status} reason={reason}")


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    with ControlPlane() as cp:
        configuration = kubernetes.client.Configuration()
        kubernetes.config.load_kube_config(
            config_file=str(cp.kubeconfig), client_configuration=configuration
        )
        api = kubernetes.client.ApiClient(configuration)
        cl = Cluster(cp, api)
        cl.kubectl("apply", "--server-side", "-f", str(ROOT / "crds"))
        cl.kubectl(
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd",
            "-l",
            "app.kubernetes.io/part-of=cloudinfer",
        )
        cl.kubectl("create", "namespace", OPERATOR_NAMESPACE)
        yield cl
        api.close()


@dataclass
class Operator:
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture(scope="session")
def operator(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Operator]:
    log_path = tmp_path_factory.mktemp("operator") / "operator.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cloudinfer",
                "run",
                f"--kubeconfig={cluster.kubeconfig}",
                f"--operator-namespace={OPERATOR_NAMESPACE}",
                "--verbose",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    op = Operator(proc, log_path)
    wait_for(
        lambda: (
            proc.poll() is not None or "Starting the watch-stream for providerconfigs" in op.log()
        ),
        60,
        "the operator to start watching",
    )
    assert proc.poll() is None, f"operator exited:\n{op.log()}"
    yield op
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if os.environ.get("CLOUDINFER_SHOW_OPERATOR_LOG"):
        print(op.log())


@pytest.fixture
def namespace(cluster: Cluster) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:10]}"
    cluster.core.create_namespace({"metadata": {"name": name}})
    yield name
    # No namespace controller runs here, so objects are removed explicitly first.
    for plural in ("providerconfigs",):
        cluster.custom.delete_collection_namespaced_custom_object(GROUP, VERSION, name, plural)
    cluster.core.delete_namespace(name)
