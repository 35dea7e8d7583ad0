"""Integration fixtures: a real etcd + kube-apiserver for the session, the CRDs applied,
the operator running as a subprocess (`cloudinfer run`), and a fresh namespace per test."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubernetes
import pytest

from cloudinfer.api.kinds import GROUP, VERSION
from cloudinfer.controlplane import ControlPlane
from cloudinfer.controlplane.kubectl import install_crds, kubectl
from cloudinfer.dev import start_operator, stop_process
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
        return kubectl(self.kubeconfig, *args, input=input, check=check, timeout=60)

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
        install_crds(cp.kubeconfig, OPERATOR_NAMESPACE)
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
    proc = start_operator(
        cluster.kubeconfig, log_path, f"--operator-namespace={OPERATOR_NAMESPACE}", "--verbose"
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
    stop_process(proc)
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
