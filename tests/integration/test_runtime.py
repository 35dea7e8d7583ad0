"""The generic runtime against a real API server and the emulator: accounts are isolated by
their full credentials, one throttled account does not hold the others, the operator's own
writes wake nothing, and a restart costs one listing and no writes."""

from __future__ import annotations

import json
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes
import pytest

from cloudinfer.controlplane import ControlPlane
from cloudinfer.controlplane.kubectl import apply_objects, install_crds
from cloudinfer.controlplane.local import free_port
from cloudinfer.dev import start_emulator, start_operator, stop_process
from tests.integration.conftest import (
    DEV_KEY,
    OPERATOR_NAMESPACE,
    Cluster,
    Emulator,
    Operator,
)
from tests.integration.test_inferenceservice import PLURAL, apply_isvc, ext, unique
from tests.support import wait_for


def provider(
    emulator_url: str,
    namespace: str,
    name: str,
    key: tuple[str, str],
    rate: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    spec: dict[str, Any] = {
        "cloud": "alibaba-eas",
        "region": "cn-shanghai",
        "endpoint": emulator_url,
        "credentialsSecretRef": {"name": f"{name}-creds"},
        "pollIntervals": {"transitionalSeconds": 1, "stableSeconds": 10},
    }
    if rate:
        spec["rateLimit"] = rate
    return [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": f"{name}-creds", "namespace": namespace},
            "stringData": {"accessKeyId": key[0], "accessKeySecret": key[1]},
        },
        {
            "apiVersion": "cloudinfer.io/v1alpha1",
            "kind": "ProviderConfig",
            "metadata": {"name": name, "namespace": namespace},
            "spec": spec,
        },
    ]


def test_same_key_id_with_another_secret_is_another_account(
    cluster: Cluster, emulator: Emulator, namespace: str, eas_provider: str
) -> None:
    """Team B's Secret names team A's key id with a wrong secret. B must get neither A's
    listing, nor A's credentials, nor A's service token."""
    owner = unique("teama")
    apply_isvc(cluster, namespace, owner)
    cluster.wait_condition(PLURAL, owner, namespace, "True", "Available")
    since = time.time()
    cluster.apply(*provider(emulator.url, namespace, "impostor", (DEV_KEY[0], "guessed-secret")))
    cluster.wait_condition("providerconfigs", "impostor", namespace, "True")
    spy = unique("teamb")
    apply_isvc(
        cluster,
        namespace,
        spy,
        providerConfigRef={"name": "impostor"},
        serviceName=ext(owner),
        managementPolicy="Observe",
        eas={"instances": 1},
        writeConnectionSecretToRef={"name": f"{spy}-conn"},
    )
    cond = cluster.wait_condition(PLURAL, spy, namespace, "False", "CredentialsRejected")
    assert "SignatureDoesNotMatch" in cond["message"]
    # Its own listing, refused: not a view of the other account's snapshot.
    refused = [c for c in emulator.calls("ListServices", since=since) if c["status"] != 200]
    assert refused and all(c["code"] == "SignatureDoesNotMatch" for c in refused)
    st = cluster.get(PLURAL, spy, namespace).get("status") or {}
    assert not st.get("url") and not st.get("serviceId")
    secrets = cluster.core.list_namespaced_secret(namespace).items
    assert f"{spy}-conn" not in {s.metadata.name for s in secrets}, "a token reached team B"
    # Team A is untouched (no credential swap): still Ready, still its own token.
    cluster.wait_condition(PLURAL, owner, namespace, "True", "Available")


def test_a_throttled_account_does_not_stall_another(
    cluster: Cluster, operator: Operator, emulator: Emulator, namespace: str
) -> None:
    """Account A may make one call every 20 s and has 24 resources waiting; account B's
    resource is still created and Ready at once."""
    from tests.integration.conftest import OTHER_ACCOUNT_KEY

    cluster.apply(
        *provider(emulator.url, namespace, "slow", DEV_KEY, {"qps": 0.05, "burst": 1}),
        *provider(emulator.url, namespace, "fast", OTHER_ACCOUNT_KEY),
    )
    for name in ("slow", "fast"):
        cluster.wait_condition("providerconfigs", name, namespace, "True")
    slow = [unique("slow") for _ in range(24)]
    for name in slow:
        apply_isvc(cluster, namespace, name, providerConfigRef={"name": "slow"})
    quick = unique("quick")
    started = time.monotonic()
    apply_isvc(cluster, namespace, quick, providerConfigRef={"name": "fast"})
    cluster.wait_condition(PLURAL, quick, namespace, "True", "Available", timeout=30)
    took = time.monotonic() - started
    created = {c["target"] for c in emulator.calls("CreateService")} & {ext(n) for n in slow}
    assert len(created) < len(slow), "account A was not throttled: the test proves nothing"
    print(f"account B Ready after {took:.1f}s while {len(slow) - len(created)} of A wait")
    # Clean up the slow account's resources without waiting 20 s per call.
    for name in slow:
        cluster.kubectl(
            "patch",
            "cisvc",
            name,
            "-n",
            namespace,
            "--type=merge",
            "-p",
            json.dumps({"spec": {"deletionPolicy": "Orphan"}}),
        )


def test_own_writes_cause_no_reconcile(
    cluster: Cluster, operator: Operator, emulator: Emulator, namespace: str, eas_provider: str
) -> None:
    """A whole create → Ready lifecycle writes metadata, status and a connection Secret many
    times; only the user's own apply (and edit) may turn a watch event into a reconcile."""
    name = unique("quiet")
    before = operator.metric("cloudinfer_watch_events_total", outcome="reconcile")
    ignored_before = operator.metric("cloudinfer_watch_events_total", outcome="ignored")
    apply_isvc(cluster, namespace, name, writeConnectionSecretToRef={"name": f"{name}-c"})
    cluster.wait_condition(PLURAL, name, namespace, "True", "Available")
    wait_for(
        lambda: (
            operator.metric("cloudinfer_watch_events_total", outcome="ignored")
            >= ignored_before + 3
        ),
        20,
        "the echoes of the operator's writes to arrive",
    )
    assert operator.metric("cloudinfer_watch_events_total", outcome="reconcile") == before + 1
    cluster.kubectl("annotate", "cisvc", name, "-n", namespace, "team=search")
    wait_for(
        lambda: operator.metric("cloudinfer_watch_events_total", outcome="reconcile") == before + 2,
        20,
        "the user's edit to count",
    )


# -- restart ----------------------------------------------------------------------------------


@pytest.fixture
def own_stack(tmp_path: Path) -> Iterator[tuple[ControlPlane, str, Any]]:
    """A control plane and an emulator of its own: only this test's operator talks to them."""
    with ControlPlane() as cp:
        install_crds(cp.kubeconfig, OPERATOR_NAMESPACE)
        port = free_port()
        emu = start_emulator(tmp_path, port, "--deploy-seconds=1", "--delete-seconds=1")
        try:
            yield cp, f"http://127.0.0.1:{port}", emu
        finally:
            stop_process(emu)


def test_restart_costs_one_listing_and_no_writes(
    own_stack: tuple[ControlPlane, str, Any], tmp_path: Path
) -> None:
    import httpx

    cp, url, _ = own_stack
    kc = cp.kubeconfig
    ns = f"restart-{uuid.uuid4().hex[:6]}"
    names = [f"r{i}" for i in range(6)]
    apply_objects(
        kc,
        [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
            *provider(url, ns, "emulator", DEV_KEY),
            *[
                {
                    "apiVersion": "cloudinfer.io/v1alpha1",
                    "kind": "InferenceService",
                    "metadata": {"name": n, "namespace": ns},
                    "spec": {
                        "providerConfigRef": {"name": "emulator"},
                        "writeConnectionSecretToRef": {"name": f"{n}-conn"},
                        "eas": {"processor": "p", "instances": 1, "cpu": 1, "memory": 100},
                    },
                }
                for n in names
            ],
        ],
    )
    api = kubernetes.config.new_client_from_config(config_file=str(kc))
    custom = kubernetes.client.CustomObjectsApi(api)

    def items() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = custom.list_namespaced_custom_object(
            "cloudinfer.io", "v1alpha1", ns, "inferenceservices"
        )["items"]
        return found

    def all_ready() -> bool:
        return len(items()) == len(names) and all(
            any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in (i.get("status") or {}).get("conditions", [])
            )
            for i in items()
        )

    operator = start_operator(kc, tmp_path / "first.log")
    try:
        wait_for(all_ready, 60, "every InferenceService Ready")
        wait_for(lambda: len(cp_secrets(api, ns)) == len(names), 30, "the connection Secrets")
    finally:
        operator.send_signal(signal.SIGTERM)
        operator.wait(30)
    versions = {i["metadata"]["name"]: i["metadata"]["resourceVersion"] for i in items()}
    secret_versions = cp_secrets(api, ns)
    httpx.delete(f"{url}/_emulator/calls", timeout=10)
    restarted = start_operator(kc, tmp_path / "second.log")
    try:
        # Quiet: the first listing has happened and a few more seconds pass without calls
        # beyond it (the stable interval is 10 s, so a second listing may follow).
        wait_for(
            lambda: httpx.get(f"{url}/_emulator/calls", timeout=10).json(),
            30,
            "the restarted operator's first listing",
        )
        first = httpx.get(f"{url}/_emulator/calls", timeout=10).json()[0]["time"]
        wait_for(lambda: time.time() > first + 6, 10, "six quiet seconds")
        calls = httpx.get(f"{url}/_emulator/calls", timeout=10).json()
    finally:
        stop_process(restarted)
    before_second = [c for c in calls if c["time"] < first + 6]
    assert {c["operation"] for c in before_second} == {"ListServices"}, before_second
    assert len(before_second) == 2  # the changes mark's one-item probe; six services: a page
    after = {i["metadata"]["name"]: i["metadata"]["resourceVersion"] for i in items()}
    assert after == versions, "the restart wrote to the InferenceServices"
    assert cp_secrets(api, ns) == secret_versions, "the restart rewrote connection Secrets"


def cp_secrets(api: Any, namespace: str) -> dict[str, str]:
    core = kubernetes.client.CoreV1Api(api)
    return {
        s.metadata.name: s.metadata.resource_version
        for s in core.list_namespaced_secret(namespace).items
        if s.metadata.name.endswith("-conn")
    }
