"""Deletion in any order (what `kubectl delete namespace` does: everything at once). A
provider config and its credentials Secret carry `cloudinfer.io/in-use` while resources use
them, so deleting them first only marks them deleted: the resources' deletions still reach
the cloud, then every finalizer is released and everything goes. The local control plane has
no namespace controller, so the namespace's deletion is played by deleting the objects with
--wait=false in the worst order."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from kubernetes.client.exceptions import ApiException

from tests.integration.conftest import (
    OPERATOR_NAMESPACE,
    Cluster,
    Emulator,
    Operator,
    emulator_provider,
)
from tests.integration.test_inferenceservice import PLURAL, apply_isvc, ext, unique
from tests.support import wait_for

IN_USE = "cloudinfer.io/in-use"
SECRET = "emulator-creds"  # the eas_provider fixture's Secret


def secret_meta(cluster: Cluster, namespace: str, name: str) -> dict[str, Any] | None:
    """A Secret's finalizers and whether it is being deleted, or None once it is gone."""
    try:
        meta = cluster.core.read_namespaced_secret(name, namespace).metadata
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    return {"finalizers": meta.finalizers or [], "deleting": meta.deletion_timestamp is not None}


def custom_meta(
    cluster: Cluster, plural: str, name: str, namespace: str | None = None
) -> dict[str, Any] | None:
    """The same for a custom object."""
    try:
        meta = cluster.get(plural, name, namespace)["metadata"]
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    return {
        "finalizers": meta.get("finalizers") or [],
        "deleting": "deletionTimestamp" in meta,
    }


def wait_held(what: Callable[[], dict[str, Any] | None], label: str, held: bool = True) -> None:
    wait_for(
        lambda: (meta := what()) is not None and (IN_USE in meta["finalizers"]) == held,
        30,
        f"{label} {'with' if held else 'without'} {IN_USE}",
    )


def wait_gone(what: Callable[[], dict[str, Any] | None], label: str) -> None:
    wait_for(lambda: what() is None, 60, f"{label} to be gone")


def test_secret_then_provider_config_then_service_deleted_at_once(
    cluster: Cluster, emulator: Emulator, namespace: str, eas_provider: str
) -> None:
    name = unique("order")
    apply_isvc(cluster, namespace, name)
    cluster.wait_condition(PLURAL, name, namespace, "True", "Available")
    pc = partial(custom_meta, cluster, "providerconfigs", eas_provider, namespace)
    secret = partial(secret_meta, cluster, namespace, SECRET)
    isvc = partial(custom_meta, cluster, PLURAL, name, namespace)
    wait_held(pc, "the ProviderConfig")
    wait_held(secret, "the Secret")

    # The worst order, nothing waited for (as a namespace deletion does it).
    for kind, obj in (("secret", SECRET), ("providerconfig", eas_provider), ("cisvc", name)):
        cluster.kubectl("delete", kind, obj, "-n", namespace, "--wait=false")

    wait_for(lambda: emulator.service(ext(name)) is None, 60, "the cloud service deleted")
    assert emulator.calls("DeleteService", ext(name))
    wait_gone(isvc, "the InferenceService")
    wait_gone(pc, "the ProviderConfig")
    wait_gone(secret, "the Secret")


def test_a_used_provider_config_waits_for_its_last_user(
    cluster: Cluster, emulator: Emulator, namespace: str, eas_provider: str
) -> None:
    first, last = unique("first"), unique("last")
    for name in (first, last):
        apply_isvc(cluster, namespace, name)
    for name in (first, last):
        cluster.wait_condition(PLURAL, name, namespace, "True", "Available")
    pc = partial(custom_meta, cluster, "providerconfigs", eas_provider, namespace)
    secret = partial(secret_meta, cluster, namespace, SECRET)
    wait_held(pc, "the ProviderConfig")
    wait_held(secret, "the Secret")

    cluster.kubectl("delete", "providerconfig", eas_provider, "-n", namespace, "--wait=false")
    deleting = pc()
    assert deleting is not None and deleting["deleting"] and IN_USE in deleting["finalizers"]

    # One user goes (through the cloud, with the config being deleted): the config stays.
    cluster.kubectl("delete", "cisvc", first, "-n", namespace, "--timeout=60s")
    assert emulator.service(ext(first)) is None
    still = pc()
    assert still is not None and still["deleting"] and IN_USE in still["finalizers"]

    # The last one goes: so does the config; its Secret (not deleted) is let go.
    cluster.kubectl("delete", "cisvc", last, "-n", namespace, "--wait=false")
    wait_gone(pc, "the ProviderConfig")
    assert emulator.service(ext(last)) is None
    wait_held(secret, "the Secret", held=False)


def test_an_unused_provider_config_is_deleted_at_once(
    cluster: Cluster, operator: Operator, emulator: Emulator, namespace: str
) -> None:
    cluster.apply(*emulator_provider(emulator, namespace, "idle", "idle-creds"))
    cluster.wait_condition("providerconfigs", "idle", namespace, "True")
    meta = custom_meta(cluster, "providerconfigs", "idle", namespace)
    assert meta is not None and IN_USE not in meta["finalizers"]
    cluster.kubectl("delete", "providerconfig", "idle", "-n", namespace, "--timeout=20s")
    cluster.kubectl("delete", "secret", "idle-creds", "-n", namespace, "--timeout=20s")


def test_cluster_provider_config_and_its_secret_deleted_first(
    cluster: Cluster, emulator: Emulator, operator: Operator, namespace: str
) -> None:
    secret_name, cpc_name, name = unique("cpc-creds"), unique("cpc"), unique("cluster")
    secret_body, config = emulator_provider(emulator, OPERATOR_NAMESPACE, "", secret_name)
    config["kind"] = "ClusterProviderConfig"
    config["metadata"] = {"name": cpc_name}
    cluster.apply(secret_body, config)
    cpc = partial(custom_meta, cluster, "clusterproviderconfigs", cpc_name)
    secret = partial(secret_meta, cluster, OPERATOR_NAMESPACE, secret_name)
    isvc = partial(custom_meta, cluster, PLURAL, name, namespace)
    try:
        cluster.wait_condition("clusterproviderconfigs", cpc_name, None, "True")
        apply_isvc(
            cluster,
            namespace,
            name,
            providerConfigRef={"kind": "ClusterProviderConfig", "name": cpc_name},
        )
        cluster.wait_condition(PLURAL, name, namespace, "True", "Available")
        wait_held(cpc, "the ClusterProviderConfig")
        wait_held(secret, "the Secret in the operator's namespace")

        cluster.kubectl("delete", "secret", secret_name, "-n", OPERATOR_NAMESPACE, "--wait=false")
        cluster.kubectl("delete", "clusterproviderconfig", cpc_name, "--wait=false")
        cluster.kubectl("delete", "cisvc", name, "-n", namespace, "--wait=false")

        wait_for(lambda: emulator.service(ext(name)) is None, 60, "the cloud service deleted")
        wait_gone(isvc, "the InferenceService")
        wait_gone(cpc, "the ClusterProviderConfig")
        wait_gone(secret, "the Secret")
    finally:
        cluster.kubectl("delete", "cisvc", name, "-n", namespace, "--wait=false", check=False)
        cluster.kubectl("delete", "clusterproviderconfig", cpc_name, "--wait=false", check=False)
        cluster.kubectl(
            "delete", "secret", secret_name, "-n", OPERATOR_NAMESPACE, "--wait=false", check=False
        )
