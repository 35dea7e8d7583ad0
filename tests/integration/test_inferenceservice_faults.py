"""InferenceService against bad input, cloud refusals and cloud faults."""

from __future__ import annotations

import json
from typing import Any

import pytest
from alibabacloud_eas20210701 import models as m
from alibabacloud_tea_openapi.exceptions import ClientException

from tests.integration.conftest import (
    OTHER_ACCOUNT_KEY,
    Cluster,
    Emulator,
    Operator,
    emulator_provider,
)
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


def manifest(namespace: str, spec: dict[str, Any], name: str = "bad") -> str:
    return json.dumps(
        {
            "apiVersion": "cloudinfer.io/v1alpha1",
            "kind": "InferenceService",
            "metadata": {"name": name, "namespace": namespace},
            "spec": spec,
        }
    )


BASE = {"providerConfigRef": {"name": "emulator"}, "eas": SPEC}


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"providerConfigRef": {"name": "emulator"}}, "spec.eas"),
        ({**BASE, "eas": {"instances": 1}}, "spec.eas"),
        ({**BASE, "serviceName": "Bad-Name"}, "spec.serviceName"),
        ({**BASE, "eas": {**SPEC, "instances": -1}}, "spec.eas.instances"),
        (
            {**BASE, "eas": {**SPEC, "autoscaling": {"min": 5, "max": 2, "threshold": 1}}},
            "spec.eas.autoscaling.min",
        ),
        ({**BASE, "managementPolicy": "Observe"}, "spec.serviceName"),
        ({**BASE, "deletionPolicy": "Keep"}, "spec.deletionPolicy"),
        ({"eas": SPEC}, "spec.providerConfigRef"),
    ],
    ids=[
        "no-eas",
        "nothing-to-run",
        "bad-name",
        "negative-instances",
        "min-above-max",
        "observe-without-name",
        "unknown-policy",
        "no-provider",
    ],
)
def test_invalid_specs_are_rejected_at_admission(
    cluster: Cluster, namespace: str, spec: dict[str, Any], field: str
) -> None:
    result = cluster.kubectl("apply", "-f", "-", input=manifest(namespace, spec), check=False)
    assert result.returncode != 0, f"accepted: {spec}"
    assert field in result.stderr, result.stderr


def test_service_name_is_immutable(cluster: Cluster, namespace: str) -> None:
    cluster.kubectl(
        "apply", "-f", "-", input=manifest(namespace, {**BASE, "serviceName": "first"}, "imm")
    )
    result = cluster.kubectl(
        "apply",
        "-f",
        "-",
        check=False,
        input=manifest(namespace, {**BASE, "serviceName": "second"}, "imm"),
    )
    assert result.returncode != 0 and "serviceName is immutable" in result.stderr


def test_cloud_refusal_is_terminal_until_the_spec_changes(
    cluster: Cluster, operator: Operator, emulator: Emulator, namespace: str, eas_provider: str
) -> None:
    name = unique("refused")
    # Admission cannot know this: the cloud refuses cpu 0 passed through `config`.
    apply_isvc(cluster, namespace, name, eas={"processor": "p", "config": {"metadata": {"cpu": 0}}})
    cond = cluster.wait_condition(PLURAL, name, namespace, "False", "InvalidParameter")
    assert "metadata.cpu" in cond["message"]
    synced = cluster.condition(PLURAL, name, namespace, "Synced")
    assert synced is not None and synced["reason"] == "TerminalError"
    assert status(cluster, namespace, name)["failedGeneration"] == 1
    assert ("Warning", "InvalidParameter") in events(cluster, namespace, name)
    # Reconciles keep happening (any metadata change triggers one), but none of them
    # creates again.
    for i in range(3):  # one at a time: the work queue coalesces triggers that overlap
        done = operator.metric("cloudinfer_reconciles_total")
        cluster.kubectl("annotate", "cisvc", name, "-n", namespace, f"poke=p{i}", "--overwrite")
        wait_for(
            lambda d=done: operator.metric("cloudinfer_reconciles_total") > d,
            30,
            f"reconcile {i + 1}",
        )
    assert len(emulator.calls("CreateService", ext(name))) == 1
    # Fixing the spec retries.
    patch_spec(cluster, namespace, name, {"eas": {"config": {"metadata": {"cpu": 1}}}})
    cluster.wait_condition(PLURAL, name, namespace, "True", "Available", timeout=30)
    assert len(emulator.calls("CreateService", ext(name))) == 2
    assert "failedGeneration" not in status(cluster, namespace, name)


def test_name_owned_by_another_account(
    cluster: Cluster, emulator: Emulator, namespace: str, eas_provider: str
) -> None:
    """As on the real cloud, another account's service is invisible to ours; only the name is
    taken. Our resource asking for that name is refused by the cloud, and neither it nor its
    deletion ever touches the other account's service."""
    taken = ext(unique("taken"))
    emulator.sdk(OTHER_ACCOUNT_KEY).create_service(
        m.CreateServiceRequest(
            body=json.dumps(
                {
                    "name": taken,
                    "processor": "p",
                    "metadata": {"instance": 1, "cpu": 1, "memory": 100},
                }
            )
        )
    )
    # Settled first, so that anything that changes it afterwards shows.
    theirs = wait_for(
        lambda: (svc := emulator.service(taken)) and svc["Status"] == "Running" and svc,
        30,
        f"{taken} Running",
    )
    assert theirs["CallerUid"] == "other-account"
    with pytest.raises(ClientException) as hidden:
        emulator.sdk().describe_service("cn-shanghai", taken)
    assert (hidden.value.status_code, hidden.value.code) == (404, "InvalidService.NotFound")

    name = unique()
    apply_isvc(cluster, namespace, name, serviceName=taken)

    def refused() -> dict[str, Any] | None:
        cond = cluster.condition(PLURAL, name, namespace)
        code = "Forbidden.PrivilegeCheckFailed"  # the reason is the runtime's, not checked
        if cond and cond["status"] == "False" and code in cond.get("message", ""):
            return cond
        return None

    wait_for(refused, 30, "Ready=False naming Forbidden.PrivilegeCheckFailed")
    # Deleting the resource must not delete or change someone else's service.
    cluster.kubectl("delete", "cisvc", name, "-n", namespace, "--timeout=30s")
    assert emulator.service(taken) == theirs
    ours = [c for c in emulator.calls(target=taken) if c["account"] != "other-account"]
    assert ours and all(c["status"] >= 400 for c in ours), ours


def test_same_account_service_without_our_label_is_not_taken_over(
    cluster: Cluster, emulator: Emulator, namespace: str, eas_provider: str
) -> None:
    existing = ext(unique("mine"))
    emulator.sdk().create_service(
        m.CreateServiceRequest(
            body=json.dumps(
                {
                    "name": existing,
                    "processor": "p",
                    "metadata": {"instance": 1, "cpu": 1, "memory": 100},
                }
            )
        )
    )
    name = unique()
    apply_isvc(cluster, namespace, name, serviceName=existing)
    cond = cluster.wait_condition(PLURAL, name, namespace, "False", "NameConflict")
    assert "label cloudinfer-uid=absent" in cond["message"]
    assert not emulator.calls("UpdateService", existing)


def test_lost_create_answer_is_adopted_not_duplicated(
    cluster: Cluster, emulator: Emulator, namespace: str, eas_provider: str
) -> None:
    name = unique("lost")
    emulator.fault(kind="drop-response", operation="CreateService", count=1)
    try:
        apply_isvc(cluster, namespace, name)
        cluster.wait_condition(PLURAL, name, namespace, "True", "Available", timeout=40)
    finally:
        emulator.clear_faults()
    assert len(emulator.calls("CreateService", ext(name))) == 1
    assert [s["ServiceName"] for s in emulator.services()].count(ext(name)) == 1


def test_throttling_is_honoured(
    cluster: Cluster, emulator: Emulator, namespace: str, eas_provider: str
) -> None:
    name = unique("throttled")
    emulator.fault(kind="throttle", operation="CreateService", count=1, seconds=3)
    try:
        apply_isvc(cluster, namespace, name)
        cluster.wait_condition(PLURAL, name, namespace, "True", "Available", timeout=40)
    finally:
        emulator.clear_faults()
    creates = emulator.calls("CreateService", ext(name))
    assert [c["status"] for c in creates] == [429, 200]
    throttled_at = creates[0]["time"]
    # No call to the account, by any resource, before retry-after elapsed (requests already
    # in flight when the 429 arrived are answered just after it: allow them 0.2 s). Other
    # clouds' and accounts' calls (earlier tests' provider configs still listing) are not
    # this account's.
    early = [
        c
        for c in emulator.calls(since=throttled_at)
        if throttled_at + 0.2 < c["time"] < throttled_at + 2.95
        and (c["cloud"], c["account"]) == (creates[0]["cloud"], creates[0]["account"])
    ]
    assert early == [], early


def test_pause_annotation_stops_reconciling(
    cluster: Cluster, emulator: Emulator, namespace: str, eas_provider: str
) -> None:
    name = unique("paused")
    apply_isvc(cluster, namespace, name)
    cluster.wait_condition(PLURAL, name, namespace, "True", "Available")
    cluster.kubectl("annotate", "cisvc", name, "-n", namespace, "cloudinfer.io/paused=true")
    wait_for(
        lambda: (
            (c := cluster.condition(PLURAL, name, namespace, "Synced"))
            and c["reason"] == "ReconcilePaused"
        ),
        20,
        "Synced=False ReconcilePaused",
    )
    patch_spec(cluster, namespace, name, {"eas": {"instances": 4}})
    # The paused reconcile of generation 2 records that it saw it, and does nothing else.
    wait_for(
        lambda: status(cluster, namespace, name).get("observedGeneration") == 2,
        20,
        "generation 2 observed while paused",
    )
    assert not emulator.calls("UpdateService", ext(name))
    cluster.kubectl("annotate", "cisvc", name, "-n", namespace, "cloudinfer.io/paused-")
    wait_for(lambda: emulator.calls("UpdateService", ext(name)), 30, "the update after unpausing")


def test_waits_for_its_provider_config(
    cluster: Cluster, emulator: Emulator, namespace: str, eas_provider: str
) -> None:
    name = unique("early")
    apply_isvc(cluster, namespace, name, providerConfigRef={"name": "later"})
    cond = cluster.wait_condition(PLURAL, name, namespace, "False", "ProviderConfigNotFound")
    assert f'ProviderConfig "later" in namespace "{namespace}"' in cond["message"]
    assert not emulator.calls("CreateService", ext(name))
    provider = emulator_provider(emulator, namespace, "later", "emulator-creds")[1]
    cluster.apply(provider)  # the Secret exists already (eas_provider made it)
    cluster.wait_condition(PLURAL, name, namespace, "True", "Available", timeout=60)


def test_provider_config_for_another_cloud_is_refused(
    cluster: Cluster, namespace: str, eas_provider: str
) -> None:
    cluster.apply(
        {
            "apiVersion": "cloudinfer.io/v1alpha1",
            "kind": "ProviderConfig",
            "metadata": {"name": "huawei", "namespace": namespace},
            "spec": {
                "cloud": "huawei-modelarts",
                "region": "cn-north-4",
                "projectId": "p",
                "credentialsSecretRef": {"name": "emulator-creds"},
            },
        }
    )
    name = unique("wrong")
    apply_isvc(cluster, namespace, name, providerConfigRef={"name": "huawei"})
    cond = cluster.wait_condition(PLURAL, name, namespace, "False", "ProviderConfigMismatch")
    assert "huawei-modelarts" in cond["message"] and "alibaba-eas" in cond["message"]
