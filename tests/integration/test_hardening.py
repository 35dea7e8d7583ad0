"""Hardening of the generic runtime, end to end (real kube-apiserver, the operator as a
process, the emulator over HTTP): Ready tells the truth, errors neither stick nor storm,
Secrets the operator does not control are never written."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import Cluster, Emulator, Operator
from tests.integration.test_inferenceservice import (
    PLURAL,
    SPEC,
    apply_isvc,
    events,
    ext,
    patch_spec,
    status,
    unique,
)
from tests.support import wait_for


def ready_condition(cluster: Cluster, namespace: str, name: str) -> dict[str, Any] | None:
    return cluster.condition(PLURAL, name, namespace, "Ready")


def test_connection_secret_of_someone_else_is_never_overwritten(
    cluster: Cluster, emulator: Emulator, namespace: str, eas_provider: str
) -> None:
    """Pointing writeConnectionSecretToRef at an existing Secret (here the provider config's
    own credentials) leaves it untouched and says so; a free name is written."""
    before = cluster.core.read_namespaced_secret("emulator-creds", namespace).data
    name = unique("conn")
    apply_isvc(cluster, namespace, name, writeConnectionSecretToRef={"name": "emulator-creds"})
    synced = cluster.wait_condition(
        PLURAL, name, namespace, "False", "ConnectionSecretConflict", type_="Synced"
    )
    assert "emulator-creds" in synced["message"]
    assert "writeConnectionSecretToRef" in synced["message"]
    # The service itself is fine: Ready says so, Synced says what was not done.
    cluster.wait_condition(PLURAL, name, namespace, "True", "Available")
    assert cluster.core.read_namespaced_secret("emulator-creds", namespace).data == before
    assert ("Warning", "ConnectionSecretConflict") in events(cluster, namespace, name)
    # The provider config still works: its Secret was not replaced by endpoints.
    assert cluster.condition("providerconfigs", "emulator", namespace)["status"] == "True"


def test_ready_waits_until_the_change_is_live(
    cluster: Cluster, emulator: Emulator, namespace: str, eas_provider: str
) -> None:
    """`kubectl apply && kubectl wait --for=condition=Ready` returns only when the cloud runs
    the new generation: Ready=True for generation 2 implies the new instance count runs."""
    name = unique("truth")
    apply_isvc(cluster, namespace, name)
    cluster.wait_condition(PLURAL, name, namespace, "True", "Available")
    patch_spec(cluster, namespace, name, {"eas": {**SPEC, "instances": 3}})

    def ready_for_generation_2() -> dict[str, Any] | None:
        cond = ready_condition(cluster, namespace, name)
        if cond and cond["status"] == "True" and cond.get("observedGeneration") == 2:
            return cond
        return None

    wait_for(ready_for_generation_2, 60, "Ready for generation 2")
    service = emulator.service(ext(name))
    assert service is not None
    assert service["Status"] == "Running", service["Status"]
    assert service["RunningInstance"] == 3, service
    # On the way it said so: not Ready, reason Updating (an Event records the update).
    assert ("Normal", "UpdatingExternal") in events(cluster, namespace, name)


def test_retry_annotation_retries_a_refusal_without_a_spec_edit(
    cluster: Cluster, operator: Operator, emulator: Emulator, namespace: str, eas_provider: str
) -> None:
    name = unique("retry")
    apply_isvc(cluster, namespace, name, eas={"processor": "p", "config": {"metadata": {"cpu": 0}}})
    cluster.wait_condition(PLURAL, name, namespace, "False", "InvalidParameter")
    assert len(emulator.calls("CreateService", ext(name))) == 1
    cluster.kubectl("annotate", "cisvc", name, "-n", namespace, "cloudinfer.io/retry=1")
    wait_for(
        lambda: status(cluster, namespace, name).get("failedRetry") == "1",
        30,
        "the retried refusal recorded",
    )
    assert len(emulator.calls("CreateService", ext(name))) == 2
    # The same value again is not a new request: other metadata changes do not re-send.
    done = operator.metric("cloudinfer_reconciles_total")
    cluster.kubectl("annotate", "cisvc", name, "-n", namespace, "poke=1")
    wait_for(lambda: operator.metric("cloudinfer_reconciles_total") > done, 30, "a reconcile")
    assert len(emulator.calls("CreateService", ext(name))) == 2


def test_rejected_credentials_post_one_event_not_one_per_retry(
    cluster: Cluster, operator: Operator, emulator: Emulator, namespace: str
) -> None:
    from tests.integration.conftest import emulator_provider

    objects = emulator_provider(emulator, namespace, "wrong", "wrong-creds")
    objects[0]["stringData"]["accessKeySecret"] = "not-the-secret"
    cluster.apply(*objects)
    name = unique("auth")
    apply_isvc(cluster, namespace, name, providerConfigRef={"name": "wrong"})
    cluster.wait_condition(PLURAL, name, namespace, "False", "CredentialsRejected", timeout=60)
    for i in range(3):  # each metadata change is a reconcile that meets the same refusal
        done = operator.metric("cloudinfer_reconciles_total")
        cluster.kubectl("annotate", "cisvc", name, "-n", namespace, f"poke=p{i}", "--overwrite")
        wait_for(
            lambda d=done: operator.metric("cloudinfer_reconciles_total") > d, 30, "a reconcile"
        )
    rejected = [e for e in events(cluster, namespace, name) if e[1] == "CredentialsRejected"]
    assert rejected == [("Warning", "CredentialsRejected")]
    assert "not-the-secret" not in operator.log()


def test_deletion_is_retried_even_after_a_refusal(
    cluster: Cluster, emulator: Emulator, namespace: str, eas_provider: str
) -> None:
    """A delete refused with a code that would be final for a create is retried until the
    service is gone; the finalizer stays meanwhile."""
    name = unique("del")
    apply_isvc(cluster, namespace, name)
    cluster.wait_condition(PLURAL, name, namespace, "True", "Available")
    emulator.fault(
        kind="error", operation="DeleteService", status=400, code="InvalidParameter", count=2
    )
    try:
        cluster.kubectl("delete", "cisvc", name, "-n", namespace, "--wait=false")
        wait_for(
            lambda: len(emulator.calls("DeleteService", ext(name))) >= 2, 60, "refused deletes"
        )
        assert cluster.get(PLURAL, name, namespace)["metadata"]["finalizers"]
        wait_for(lambda: emulator.service(ext(name)) is None, 90, "the service deleted")
        wait_for(
            lambda: (
                not cluster.custom.list_namespaced_custom_object(
                    "cloudinfer.io", "v1alpha1", namespace, PLURAL
                )["items"]
            ),
            60,
            "the resource released",
        )
    finally:
        emulator.clear_faults()


def test_cluster_provider_config_serves_only_the_namespaces_it_selects(
    cluster: Cluster, emulator: Emulator, namespace: str
) -> None:
    """A namespace the selector does not match gets ProviderConfigNotAllowed and no cloud
    call; labelling the namespace lets it in (the namespace's watch wakes the resource)."""
    from tests.integration.conftest import OPERATOR_NAMESPACE, emulator_provider

    secret, config = emulator_provider(emulator, OPERATOR_NAMESPACE, "", unique("cpc-creds"))
    cpc_name = unique("cpc")
    secret["metadata"]["namespace"] = OPERATOR_NAMESPACE
    config["kind"] = "ClusterProviderConfig"
    config["metadata"] = {"name": cpc_name}
    config["spec"]["namespaceSelector"] = {"matchLabels": {"team": cpc_name}}
    cluster.apply(secret, config)
    try:
        name = unique("sel")
        apply_isvc(
            cluster,
            namespace,
            name,
            providerConfigRef={"kind": "ClusterProviderConfig", "name": cpc_name},
        )
        cond = cluster.wait_condition(PLURAL, name, namespace, "False", "ProviderConfigNotAllowed")
        assert cpc_name in cond["message"] and namespace in cond["message"]
        assert not emulator.calls(target=ext(name))
        cluster.kubectl("label", "namespace", namespace, f"team={cpc_name}")
        cluster.wait_condition(PLURAL, name, namespace, "True", "Available", timeout=60)
    finally:
        cluster.custom.delete_collection_namespaced_custom_object(
            "cloudinfer.io", "v1alpha1", namespace, PLURAL
        )
        wait_for(
            lambda: (
                not cluster.custom.list_namespaced_custom_object(
                    "cloudinfer.io", "v1alpha1", namespace, PLURAL
                )["items"]
            ),
            60,
            "resources deleted before their ClusterProviderConfig",
        )
        cluster.custom.delete_cluster_custom_object(
            "cloudinfer.io", "v1alpha1", "clusterproviderconfigs", cpc_name
        )


def _create_on_cloud(emulator: Emulator, name: str, labels: dict[str, str] | None = None) -> None:
    """A service made outside this resource (by hand, or by another namespace's resource)."""
    import json

    from alibabacloud_eas20210701 import models as m

    body = {"name": name, "processor": "p", "metadata": {"instance": 1, "cpu": 1, "memory": 100}}
    emulator.sdk().create_service(m.CreateServiceRequest(body=json.dumps(body), labels=labels))
    wait_for(
        lambda: (svc := emulator.service(name)) is not None and svc["Status"] == "Running",
        30,
        f"{name} Running",
    )


def test_adopt_annotation_takes_over_a_service_made_by_hand(
    cluster: Cluster, emulator: Emulator, namespace: str, eas_provider: str
) -> None:
    name = unique("adopt")
    _create_on_cloud(emulator, ext(name))
    apply_isvc(cluster, namespace, name, eas={"processor": "p", "instances": 1, "cpu": 1})
    cluster.wait_condition(PLURAL, name, namespace, "False", "NameConflict")
    assert not emulator.calls("UpdateServiceLabel", ext(name))
    cluster.kubectl("annotate", "cisvc", name, "-n", namespace, "cloudinfer.io/adopt=true")
    cluster.wait_condition(PLURAL, name, namespace, "True", "Available", timeout=60)
    obj = cluster.get(PLURAL, name, namespace)
    service = emulator.service(ext(name))
    assert service is not None
    labels = {la["LabelKey"]: la["LabelValue"] for la in service["Labels"]}
    assert labels["cloudinfer-uid"] == obj["metadata"]["uid"]
    assert labels["cloudinfer-resource"] == f"{namespace}.{name}"
    assert obj["status"]["serviceId"] == service["ServiceId"]
    assert ("Normal", "AdoptedExternal") in events(cluster, namespace, name)
    # Managed from now on: deleting the resource deletes the service.
    cluster.kubectl("delete", "cisvc", name, "-n", namespace, "--timeout=60s")
    assert emulator.service(ext(name)) is None


def test_another_namespaces_service_is_neither_observed_nor_cloned_from_here(
    cluster: Cluster, emulator: Emulator, namespace: str, eas_provider: str
) -> None:
    """A service carrying another namespace's owner labels stays that namespace's: Observe
    and cloneFrom are refused (no clone call, nothing of it in status) until the provider
    config allows it."""
    theirs = ext(unique("theirs"))
    _create_on_cloud(
        emulator, theirs, {"cloudinfer-uid": "uid-b", "cloudinfer-resource": "team-b.svc"}
    )
    watcher = unique("watch")
    apply_isvc(
        cluster,
        namespace,
        watcher,
        managementPolicy="Observe",
        serviceName=theirs,
        eas={"processor": "p"},
    )
    cond = cluster.wait_condition(PLURAL, watcher, namespace, "False", "CrossNamespaceAdoption")
    assert '"team-b"' in cond["message"]
    assert not status(cluster, namespace, watcher).get("url")
    cloner = unique("clone")
    apply_isvc(cluster, namespace, cloner, cloneFrom={"serviceName": theirs}, eas={})
    cond = cluster.wait_condition(PLURAL, cloner, namespace, "False", "CrossNamespaceAdoption")
    assert "spec.cloneFrom" in cond["message"]
    assert not emulator.calls("CloneService", theirs)
    # The provider config allows it: both proceed.
    cluster.kubectl(
        "patch",
        "providerconfig",
        eas_provider,
        "-n",
        namespace,
        "--type=merge",
        "-p",
        '{"spec": {"allowCrossNamespaceAdoption": true}}',
    )
    cluster.wait_condition(PLURAL, watcher, namespace, "True", "Available", timeout=60)
    cluster.wait_condition(PLURAL, cloner, namespace, "True", "Available", timeout=60)


def test_provider_config_pointed_at_another_account_creates_no_duplicate(
    cluster: Cluster, emulator: Emulator, namespace: str, eas_provider: str
) -> None:
    from tests.integration.conftest import OTHER_ACCOUNT_KEY

    name = unique("acct")
    apply_isvc(cluster, namespace, name)
    cluster.wait_condition(PLURAL, name, namespace, "True", "Available")
    assert cluster.get(PLURAL, name, namespace)["metadata"]["annotations"]["cloudinfer.io/account"]
    cluster.core.patch_namespaced_secret(
        "emulator-creds",
        namespace,
        {
            "stringData": {
                "accessKeyId": OTHER_ACCOUNT_KEY[0],
                "accessKeySecret": OTHER_ACCOUNT_KEY[1],
            }
        },
    )
    cond = cluster.wait_condition(PLURAL, name, namespace, "False", "AccountChanged", timeout=60)
    assert "cloudinfer.io/account" in cond["message"]
    theirs = [c for c in emulator.calls(target=ext(name)) if c["account"] == "other-account"]
    assert not [c for c in theirs if c["operation"] in ("CreateService", "DeleteService")]
    # Deleting it now must not touch the other account either; Orphan lets it go.
    cluster.kubectl(
        "patch",
        "cisvc",
        name,
        "-n",
        namespace,
        "--type=merge",
        "-p",
        '{"spec": {"deletionPolicy": "Orphan"}}',
    )
    cluster.kubectl("delete", "cisvc", name, "-n", namespace, "--timeout=60s")
    theirs = [c for c in emulator.calls(target=ext(name)) if c["account"] == "other-account"]
    assert not [c for c in theirs if c["operation"] in ("CreateService", "DeleteService")]
    assert emulator.service(ext(name)) is not None  # the original, left in its account


def test_an_edited_external_name_annotation_is_refused(
    cluster: Cluster, emulator: Emulator, namespace: str, eas_provider: str
) -> None:
    name = unique("xname")
    apply_isvc(cluster, namespace, name)
    cluster.wait_condition(PLURAL, name, namespace, "True", "Available")
    cluster.kubectl(
        "annotate",
        "cisvc",
        name,
        "-n",
        namespace,
        "cloudinfer.io/external-name=hijack",
        "--overwrite",
    )
    cond = cluster.wait_condition(PLURAL, name, namespace, "False", "ExternalNameChanged")
    assert '"hijack"' in cond["message"] and ext(name) in cond["message"]
    assert not emulator.calls(target="hijack")
    cluster.kubectl(
        "annotate",
        "cisvc",
        name,
        "-n",
        namespace,
        f"cloudinfer.io/external-name={ext(name)}",
        "--overwrite",
    )
    cluster.wait_condition(PLURAL, name, namespace, "True", "Available")


def test_a_quota_refusal_is_recorded_once_with_a_valid_reason(
    cluster: Cluster, operator: Operator, emulator: Emulator, namespace: str, eas_provider: str
) -> None:
    """A code with characters the CRD's reason pattern refuses is made CamelCase (the status
    write succeeds), and the refused create is sent once, not again and again."""
    emulator.fault(
        kind="error",
        operation="CreateService",
        status=400,
        code="QuotaExceeded.Instance-Count",
        count=1,
    )
    try:
        name = unique("quota")
        apply_isvc(cluster, namespace, name)
        cond = cluster.wait_condition(
            PLURAL, name, namespace, "False", "QuotaExceededInstanceCount"
        )
        assert "QuotaExceeded.Instance-Count" in cond["message"]
        done = operator.metric("cloudinfer_reconciles_total")
        cluster.kubectl("annotate", "cisvc", name, "-n", namespace, "poke=1")
        wait_for(lambda: operator.metric("cloudinfer_reconciles_total") > done, 30, "a reconcile")
        assert len(emulator.calls("CreateService", ext(name))) == 1
    finally:
        emulator.clear_faults()
