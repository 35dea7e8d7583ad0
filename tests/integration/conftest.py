"""Integration fixtures: a real etcd + kube-apiserver for the session, the CRDs applied,
the operator running as a subprocess (`cloudinfer run`), and a fresh namespace per test."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import kubernetes
import pytest

from cloudinfer.api.kinds import GROUP, VERSION
from cloudinfer.controlplane import ControlPlane
from cloudinfer.controlplane.kubectl import apply_objects, install_crds, kubectl
from cloudinfer.dev import start_emulator, start_operator, stop_process
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

    def apply(self, *objects: dict[str, Any]) -> None:
        apply_objects(self.kubeconfig, list(objects))

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
        type_: str = "Ready",
    ) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            cond = self.condition(plural, name, namespace, type_)
            if cond and cond["status"] == status and (reason is None or cond["reason"] == reason):
                return cond
            return None

        return wait_for(probe, timeout, f"{plural}/{name} {type_}={status} reason={reason}")


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
    metrics_port: int = 0

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def metric(self, name: str, **labels: str) -> float:
        """The sum of a Prometheus counter's samples whose labels include `labels`."""
        from prometheus_client.parser import text_string_to_metric_families

        text = httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=10).text
        total = 0.0
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and labels.items() <= sample.labels.items():
                    total += sample.value
        return total


@pytest.fixture(scope="session")
def operator(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Operator]:
    from cloudinfer.controlplane.local import free_port

    log_path = tmp_path_factory.mktemp("operator") / "operator.log"
    port = free_port()
    proc = start_operator(
        cluster.kubeconfig,
        log_path,
        f"--operator-namespace={OPERATOR_NAMESPACE}",
        "--verbose",
        f"--metrics-port={port}",
    )
    op = Operator(proc, log_path, port)
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
    # InferenceServices first, and give them time to delete their cloud services while
    # their ProviderConfig still exists.
    custom = cluster.custom
    custom.delete_collection_namespaced_custom_object(GROUP, VERSION, name, "inferenceservices")

    def none_left() -> bool:
        items = custom.list_namespaced_custom_object(GROUP, VERSION, name, "inferenceservices")
        return not items["items"]

    # A test that broke deletion fails on its own; teardown does not hide its result.
    with contextlib.suppress(AssertionError):
        wait_for(none_left, 30, "InferenceServices to be deleted")
    custom.delete_collection_namespaced_custom_object(GROUP, VERSION, name, "providerconfigs")
    cluster.core.delete_namespace(name)


# -- the cloud emulator ------------------------------------------------------------------------

DEV_KEY = ("dev-access-key-id", "dev-access-key-secret")
OTHER_ACCOUNT_KEY = ("other-id", "other-secret")
DEV_IAM_TOKEN = "dev-iam-token"  # accepted by the Huawei APIs, same account as DEV_KEY


@dataclass
class Emulator:
    url: str
    process: subprocess.Popen[bytes]

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(method, f"{self.url}/_emulator{path}", json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def calls(
        self, operation: str | None = None, target: str | None = None, since: float = 0.0
    ) -> list[dict[str, Any]]:
        params = f"?since={since}" + (f"&operation={operation}" if operation else "")
        calls: list[dict[str, Any]] = self.admin("GET", f"/calls{params}")
        return [c for c in calls if target in (None, c["target"])]

    def fault(self, **rule: Any) -> int:
        created: dict[str, Any] = self.admin("POST", "/faults", rule)
        return int(created["id"])

    def clear_faults(self) -> None:
        self.admin("DELETE", "/faults")

    def spent(self, rule: int) -> bool:
        """A fault rule is removed once it has fired `count` times: at the requests' arrival,
        before they are handled."""
        return rule not in [r["id"] for r in self.admin("GET", "/faults")]

    def services(self) -> list[dict[str, Any]]:
        services: list[dict[str, Any]] = self.admin("GET", "/eas/services")
        return services

    def service(self, name: str) -> dict[str, Any] | None:
        return next((s for s in self.services() if s["ServiceName"] == name), None)

    def assert_one_service_each(
        self, namespace: str, names: list[str], uids: dict[str, str]
    ) -> None:
        """Exactly one service per resource of `namespace` (no duplicate, no leak), each
        stamped with its resource's uid."""
        mine = [
            s
            for s in self.services()
            if any(
                x["LabelKey"] == "cloudinfer-resource"
                and x["LabelValue"].startswith(f"{namespace}.")
                for x in s["Labels"]
            )
        ]
        assert sorted(s["ServiceName"] for s in mine) == sorted(names), "a duplicate or a leak"
        for service in mine:
            labels = {x["LabelKey"]: x["LabelValue"] for x in service["Labels"]}
            assert labels["cloudinfer-uid"] == uids[service["ServiceName"]]

    def sdk(self, key: tuple[str, str] = DEV_KEY) -> Any:
        """The official Alibaba SDK, for acting on the cloud as someone other than the operator."""
        from alibabacloud_eas20210701.client import Client
        from alibabacloud_tea_openapi import models as om

        host = self.url.removeprefix("http://")
        return Client(
            om.Config(
                access_key_id=key[0],
                access_key_secret=key[1],
                endpoint=host,
                protocol="http",
                region_id="cn-shanghai",
            )
        )


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    from cloudinfer.controlplane.local import free_port

    port = free_port()
    proc = start_emulator(
        tmp_path_factory.mktemp("emulator"),
        port,
        "--deploy-seconds=2",
        "--update-seconds=2",  # long enough to see Updating on a slow machine
        "--stop-seconds=1",
        "--delete-seconds=1",
        f"--access-key={DEV_KEY[0]}:{DEV_KEY[1]}",
        f"--access-key={OTHER_ACCOUNT_KEY[0]}:{OTHER_ACCOUNT_KEY[1]}::other-account",
        f"--iam-token={DEV_IAM_TOKEN}",
    )
    emu = Emulator(f"http://127.0.0.1:{port}", proc)
    yield emu
    stop_process(proc)


def emulator_provider(
    emulator: Emulator, namespace: str, name: str, secret: str
) -> list[dict[str, Any]]:
    """A credentials Secret for the emulator and a fast-polling ProviderConfig using it."""
    return [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": secret, "namespace": namespace},
            "stringData": {"accessKeyId": DEV_KEY[0], "accessKeySecret": DEV_KEY[1]},
        },
        {
            "apiVersion": "cloudinfer.io/v1alpha1",
            "kind": "ProviderConfig",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "cloud": "alibaba-eas",
                "region": "cn-shanghai",
                "endpoint": emulator.url,
                "credentialsSecretRef": {"name": secret},
                "pollIntervals": {"transitionalSeconds": 1, "stableSeconds": 10},
            },
        },
    ]


@pytest.fixture
def eas_provider(cluster: Cluster, operator: Operator, emulator: Emulator, namespace: str) -> str:
    """A Ready ProviderConfig named `emulator` in the test's namespace, polling fast."""
    cluster.apply(*emulator_provider(emulator, namespace, "emulator", "emulator-creds"))
    cluster.wait_condition("providerconfigs", "emulator", namespace, "True")
    return "emulator"


# -- a control plane of a test's own ------------------------------------------------------------


@pytest.fixture
def solo() -> Iterator[ControlPlane]:
    """A control plane with the CRDs and no operator: for tests that run, kill and restart
    their own operator, where the session's must not help."""
    with ControlPlane() as cp:
        install_crds(cp.kubeconfig, OPERATOR_NAMESPACE)
        yield cp


def is_ready(item: dict[str, Any]) -> bool:
    return any(
        c["type"] == "Ready" and c["status"] == "True"
        for c in (item.get("status") or {}).get("conditions") or []
    )


def kill_nine(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(10)
