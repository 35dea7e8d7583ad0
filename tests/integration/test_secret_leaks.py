"""No secret leaves its Secret: a whole lifecycle with the operator logging at DEBUG, then
every place the operator writes to or shows is searched for every secret value.

A control plane, an emulator and an operator of its own (only this test's operator acts, and
its log, Events and the emulator's call log hold only this lifecycle)."""

from __future__ import annotations

import base64
import json
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
from cloudinfer.controlplane.kubectl import install_crds
from cloudinfer.controlplane.local import free_port
from cloudinfer.dev import start_emulator, start_operator, stop_process
from tests.integration.conftest import OPERATOR_NAMESPACE, Cluster, Emulator
from tests.support import wait_for

ACCOUNT = "leak-account"


def secret(what: str) -> str:
    return f"{what}-{uuid.uuid4().hex}"


@dataclass(frozen=True)
class Keys:
    """Temporary (STS) credentials: the emulator accepts both sets, for the same account."""

    key_id: str
    key_secret: str
    token: str

    def flag(self) -> str:
        return f"--access-key={self.key_id}:{self.key_secret}:{self.token}:{ACCOUNT}"

    def data(self) -> dict[str, str]:
        return {
            "accessKeyId": self.key_id,
            "accessKeySecret": self.key_secret,
            "securityToken": self.token,
            # STS key ids change with every rotation: the account says it is the same one.
            "accountId": ACCOUNT,
        }


OLD = Keys(f"STS.old{uuid.uuid4().hex[:8]}", secret("sk-old"), secret("sts-old"))
NEW = Keys(f"STS.new{uuid.uuid4().hex[:8]}", secret("sk-new"), secret("sts-new"))


@dataclass
class Stack:
    cluster: Cluster
    emulator: Emulator
    operator_log: Path
    metrics_url: str


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with ControlPlane() as cp:
        install_crds(cp.kubeconfig, OPERATOR_NAMESPACE)
        port = free_port()
        emu = start_emulator(
            tmp_path,
            port,
            "--deploy-seconds=1",
            "--update-seconds=1",
            "--delete-seconds=1",
            OLD.flag(),
            NEW.flag(),
        )
        configuration = kubernetes.client.Configuration()
        kubernetes.config.load_kube_config(
            config_file=str(cp.kubeconfig), client_configuration=configuration
        )
        api = kubernetes.client.ApiClient(configuration)
        log_path = tmp_path / "operator.log"
        metrics = free_port()
        operator = start_operator(
            cp.kubeconfig,
            log_path,
            f"--operator-namespace={OPERATOR_NAMESPACE}",
            "--debug",
            f"--metrics-port={metrics}",
        )
        try:
            wait_for(
                lambda: (
                    operator.poll() is not None
                    or "Starting the watch-stream for providerconfigs" in log_path.read_text()
                ),
                60,
                "the operator to start watching",
            )
            assert operator.poll() is None, log_path.read_text()
            yield Stack(
                Cluster(cp, api),
                Emulator(f"http://127.0.0.1:{port}", emu),
                log_path,
                f"http://127.0.0.1:{metrics}/metrics",
            )
        finally:
            stop_process(operator)
            stop_process(emu)
            api.close()


def forms(value: str) -> set[str]:
    """A value as it may be written: plain, and base64 as in a Secret's data."""
    encoded = base64.b64encode(value.encode()).decode()
    return {value, encoded, encoded.rstrip("=")}


def leaks(secrets: dict[str, str], places: dict[str, str]) -> list[str]:
    """Which secret (by label, never its value) shows up where."""
    return [
        f"{label} in {place}"
        for label, value in secrets.items()
        for place, text in places.items()
        if any(form in text for form in forms(value))
    ]


def test_no_secret_value_leaves_its_secret_over_a_whole_lifecycle(stack: Stack) -> None:
    """Create (waiting first for a missing env Secret), rotate the STS credentials, rotate the
    env Secret (its new value must reach the cloud), delete; the operator logs at DEBUG.

    Searched for every secret value, plain and base64: the operator's log, every Event in the
    cluster, every InferenceService/ProviderConfig status and metadata as seen after each
    step, the operator's metrics page, and the emulator's call log. The call log is searched
    for the credentials and the service's access token only: what the operator sends to the
    cloud legitimately holds the env value (that is the point of it), so the env value is
    checked there for being present instead. The connection Secret is the one place the
    access token may be, and it must be there."""
    cluster, emulator = stack.cluster, stack.emulator
    ns = f"leak-{uuid.uuid4().hex[:6]}"
    env_old, env_new, literal = secret("env-old"), secret("env-new"), secret("literal")
    seen: list[str] = []  # statuses and metadata as they were along the way

    def snapshot() -> None:
        for plural in ("inferenceservices", "providerconfigs"):
            items = cluster.custom.list_namespaced_custom_object(GROUP, VERSION, ns, plural)
            seen.extend(
                json.dumps({"metadata": i["metadata"], "status": i.get("status")})
                for i in items["items"]
            )

    def secret_object(name: str, data: dict[str, str]) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": ns},
            "stringData": data,
        }

    def cloud_env() -> list[dict[str, str]]:
        found = emulator.service("leaky")
        if found is None:
            return []
        env: list[dict[str, str]] = json.loads(found["ServiceConfig"])["containers"][0]["env"]
        return env

    cluster.apply(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
        secret_object("creds", OLD.data()),
        {
            "apiVersion": "cloudinfer.io/v1alpha1",
            "kind": "ProviderConfig",
            "metadata": {"name": "cloud", "namespace": ns},
            "spec": {
                "cloud": "alibaba-eas",
                "region": "cn-shanghai",
                "endpoint": emulator.url,
                "credentialsSecretRef": {"name": "creds"},
                "pollIntervals": {"transitionalSeconds": 1, "stableSeconds": 10},
            },
        },
    )
    cluster.wait_condition("providerconfigs", "cloud", ns, "True", timeout=60)
    cluster.apply(
        {
            "apiVersion": "cloudinfer.io/v1alpha1",
            "kind": "InferenceService",
            "metadata": {"name": "leaky", "namespace": ns},
            "spec": {
                "providerConfigRef": {"name": "cloud"},
                "writeConnectionSecretToRef": {"name": "leaky-conn"},
                "eas": {
                    "containers": [
                        {
                            "image": "registry.cn-shanghai.aliyuncs.com/eas/echo:v1",
                            "port": 8000,
                            "env": [
                                {"name": "MODE", "value": literal},
                                {
                                    "name": "API_KEY",
                                    "valueFrom": {"secretKeyRef": {"name": "app", "key": "api"}},
                                },
                            ],
                        }
                    ],
                    "instances": 1,
                    "cpu": 1,
                    "memory": 1000,
                },
            },
        }
    )
    cluster.wait_condition("inferenceservices", "leaky", ns, "False", "SecretNotFound", 60)
    snapshot()

    # The env Secret appears: created with the literal and the Secret's value.
    cluster.apply(secret_object("app", {"api": env_old}))
    cluster.wait_condition("inferenceservices", "leaky", ns, "True", "Available", 60)
    assert cloud_env() == [
        {"name": "MODE", "value": literal},
        {"name": "API_KEY", "value": env_old},
    ]
    service = emulator.service("leaky")
    assert service is not None
    access_token = service["AccessToken"]
    assert access_token

    def connection_token() -> str | None:
        try:
            data = cluster.core.read_namespaced_secret("leaky-conn", ns).data or {}
        except kubernetes.client.exceptions.ApiException:
            return None
        return base64.b64decode(data.get("token", "")).decode() or None

    assert wait_for(connection_token, 30, "the connection Secret") == access_token
    snapshot()

    # The STS credentials rotate: the resource moves to an account with the new ones, and
    # the old one closes.
    closed = stack.operator_log.read_text().count("closing cloud account")
    cluster.apply(secret_object("creds", NEW.data()))
    wait_for(
        lambda: stack.operator_log.read_text().count("closing cloud account") > closed,
        60,
        "the account of the old credentials to close",
    )
    cluster.wait_condition("providerconfigs", "cloud", ns, "True")
    snapshot()

    # The env Secret rotates: the new value reaches the cloud, through the new credentials.
    cluster.apply(secret_object("app", {"api": env_new}))
    wait_for(
        lambda: cloud_env()[-1:] == [{"name": "API_KEY", "value": env_new}],
        60,
        "the rotated env value on the cloud",
    )
    cluster.wait_condition("inferenceservices", "leaky", ns, "True", "Available", 60)
    snapshot()
    updates = [c for c in emulator.calls("UpdateService", "leaky") if c["status"] == 200]
    assert updates and all(c["account"] == ACCOUNT for c in updates)

    cluster.kubectl("delete", "cisvc", "leaky", "-n", ns, "--timeout=60s")
    assert emulator.service("leaky") is None
    snapshot()

    metrics = httpx.get(stack.metrics_url, timeout=10).text
    calls = httpx.get(f"{emulator.url}/_emulator/calls", timeout=10).text
    events = cluster.core.list_event_for_all_namespaces().items
    log = stack.operator_log.read_text()
    # DEBUG lines of kopf and of the HTTP client: the log searched is the most talkative one.
    assert "Handler 'inferenceservice-event' is invoked" in log, "kopf is not at DEBUG"
    assert "send_request_headers.started" in log, "the HTTP client is not at DEBUG"
    assert {c["operation"] for c in json.loads(calls)} >= {"CreateService", "UpdateService"}

    credentials = {
        "old accessKeySecret": OLD.key_secret,
        "new accessKeySecret": NEW.key_secret,
        "old securityToken": OLD.token,
        "new securityToken": NEW.token,
        "EAS access token": access_token,
    }
    env_values = {"old env secret": env_old, "new env secret": env_new}
    places = {
        "the operator log": log,
        "Events": json.dumps([e.to_dict() for e in events], default=str),
        "statuses": "\n".join(seen),
        "metrics": metrics,
    }
    assert leaks({**credentials, **env_values}, places) == []
    assert leaks(credentials, {"the emulator's call log": calls}) == []
    assert len(seen) >= 8 and len(events) > 5  # what was searched is not empty
