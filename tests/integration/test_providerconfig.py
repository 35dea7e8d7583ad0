"""The operator reports whether a provider config's credentials Secret is usable."""

from __future__ import annotations

import json
import uuid

from kubernetes.client.exceptions import ApiException

from tests.integration.conftest import OPERATOR_NAMESPACE, Cluster, Operator
from tests.support import wait_for

PLURAL = "providerconfigs"


def apply_provider_config(
    cluster: Cluster, namespace: str | None, name: str, spec: dict[str, object]
) -> None:
    kind = "ProviderConfig" if namespace else "ClusterProviderConfig"
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    cluster.apply(
        {"apiVersion": "cloudinfer.io/v1alpha1", "kind": kind, "metadata": metadata, "spec": spec}
    )


def apply_pc(
    cluster: Cluster,
    namespace: str,
    name: str,
    cloud: str = "alibaba-eas",
    secret: str = "creds",
    **extra: object,
) -> None:
    spec = {"cloud": cloud, "region": "cn-shanghai", "credentialsSecretRef": {"name": secret}}
    apply_provider_config(cluster, namespace, name, {**spec, **extra})


def put_secret(cluster: Cluster, namespace: str, name: str, values: dict[str, str]) -> None:
    body = {"metadata": {"name": name}, "stringData": values}
    try:
        cluster.core.create_namespaced_secret(namespace, body)
    except ApiException as exc:
        if exc.status != 409:
            raise
        cluster.core.replace_namespaced_secret(name, namespace, {**body, "data": None})


def events_for(cluster: Cluster, namespace: str, name: str) -> list[tuple[str, str, str]]:
    items = cluster.core.list_namespaced_event(
        namespace, field_selector=f"involvedObject.name={name}"
    ).items
    return [(e.type, e.reason, e.message) for e in items]


def test_good_secret_makes_it_ready(cluster: Cluster, operator: Operator, namespace: str) -> None:
    put_secret(cluster, namespace, "creds", {"accessKeyId": "AKID", "accessKeySecret": "sk"})
    apply_pc(cluster, namespace, "pc")
    cond = cluster.wait_condition(PLURAL, "pc", namespace, "True", "CredentialsAvailable")
    obj = cluster.get(PLURAL, "pc", namespace)
    assert (
        cond["observedGeneration"]
        == obj["metadata"]["generation"]
        == obj["status"]["observedGeneration"]
    )
    synced = cluster.condition(PLURAL, "pc", namespace, "Synced")
    assert synced is not None and synced["status"] == "True"
    # kubectl wait works on it, and the printer columns show it.
    cluster.kubectl("wait", "--for=condition=Ready", "cipc/pc", "-n", namespace, "--timeout=20s")
    table = cluster.kubectl("get", "cipc", "pc", "-n", namespace).stdout
    assert "alibaba-eas" in table and "CredentialsAvailable" in table


def test_missing_secret_then_created(cluster: Cluster, operator: Operator, namespace: str) -> None:
    apply_pc(cluster, namespace, "pc", secret="later")
    cond = cluster.wait_condition(PLURAL, "pc", namespace, "False", "SecretNotFound")
    assert f'"{namespace}/later"' in cond["message"]
    wait_for(
        lambda: (
            ("Warning", "SecretNotFound") in [e[:2] for e in events_for(cluster, namespace, "pc")]
        ),
        20,
        "a SecretNotFound event",
    )
    put_secret(cluster, namespace, "later", {"accessKeyId": "AKID", "accessKeySecret": "sk"})
    cluster.wait_condition(PLURAL, "pc", namespace, "True", "CredentialsAvailable")
    # Removing it again is noticed too.
    cluster.core.delete_namespaced_secret("later", namespace)
    cluster.wait_condition(PLURAL, "pc", namespace, "False", "SecretNotFound")


def test_missing_key_is_named_and_fixing_it_makes_it_ready(
    cluster: Cluster, operator: Operator, namespace: str
) -> None:
    put_secret(cluster, namespace, "creds", {"accessKeyId": "AKID"})
    apply_pc(cluster, namespace, "pc")
    cond = cluster.wait_condition(PLURAL, "pc", namespace, "False", "SecretKeyMissing")
    assert '"accessKeySecret"' in cond["message"] and f'"{namespace}/creds"' in cond["message"]
    put_secret(cluster, namespace, "creds", {"accessKeyId": "AKID", "accessKeySecret": "sk"})
    cluster.wait_condition(PLURAL, "pc", namespace, "True", "CredentialsAvailable")


def test_huawei_takes_an_iam_token(cluster: Cluster, operator: Operator, namespace: str) -> None:
    put_secret(cluster, namespace, "token", {"iamToken": "tok"})
    apply_pc(cluster, namespace, "hw", cloud="huawei-modelarts", secret="token", projectId="p1")
    apply_pc(cluster, namespace, "ali", cloud="alibaba-eas", secret="token")
    cluster.wait_condition(PLURAL, "hw", namespace, "True", "CredentialsAvailable")
    cond = cluster.wait_condition(PLURAL, "ali", namespace, "False", "SecretKeyMissing")
    assert '"accessKeyId"' in cond["message"]


def test_spec_change_is_reevaluated(cluster: Cluster, operator: Operator, namespace: str) -> None:
    put_secret(cluster, namespace, "a", {"accessKeyId": "AKID", "accessKeySecret": "sk"})
    apply_pc(cluster, namespace, "pc", secret="missing")
    cluster.wait_condition(PLURAL, "pc", namespace, "False", "SecretNotFound")
    apply_pc(cluster, namespace, "pc", secret="a")
    cond = cluster.wait_condition(PLURAL, "pc", namespace, "True")
    assert cond["observedGeneration"] == 2


def test_cluster_provider_config_reads_the_operator_namespace(
    cluster: Cluster, operator: Operator
) -> None:
    name = f"cpc-{uuid.uuid4().hex[:8]}"
    secret = f"{name}-creds"
    spec = {
        "cloud": "huawei-fabric",
        "region": "cn-north-4",
        "credentialsSecretRef": {"name": secret},
    }
    apply_provider_config(cluster, None, name, spec)
    try:
        cond = cluster.wait_condition(
            "clusterproviderconfigs", name, None, "False", "SecretNotFound"
        )
        assert f'"{OPERATOR_NAMESPACE}/{secret}"' in cond["message"]
        put_secret(
            cluster, OPERATOR_NAMESPACE, secret, {"accessKeyId": "AK", "accessKeySecret": "SK"}
        )
        cluster.wait_condition("clusterproviderconfigs", name, None, "True", "CredentialsAvailable")
    finally:
        cluster.kubectl("delete", "clusterproviderconfig", name, "--wait=false")


def test_credentials_never_leak(cluster: Cluster, operator: Operator, namespace: str) -> None:
    secret_value = f"SK-{uuid.uuid4().hex}"
    token_value = f"TOKEN-{uuid.uuid4().hex}"
    key_id = f"AKID-{uuid.uuid4().hex}"
    put_secret(cluster, namespace, "creds", {"accessKeyId": key_id, "iamToken": token_value})
    apply_pc(cluster, namespace, "leak", cloud="alibaba-eas")
    cluster.wait_condition(PLURAL, "leak", namespace, "False", "SecretKeyMissing")
    put_secret(
        cluster,
        namespace,
        "creds",
        {"accessKeyId": key_id, "accessKeySecret": secret_value, "iamToken": token_value},
    )
    cluster.wait_condition(PLURAL, "leak", namespace, "True")
    wait_for(lambda: len(events_for(cluster, namespace, "leak")) >= 2, 20, "two events")

    log = operator.log()
    assert "leak" in log, "the operator log was not captured"
    status = json.dumps(cluster.get(PLURAL, "leak", namespace).get("status"))
    events = json.dumps(events_for(cluster, namespace, "leak"))
    for value in (secret_value, token_value, key_id):
        assert value not in log
        assert value not in status
        assert value not in events
