"""The official Alibaba SDK (alibabacloud-eas20210701), pointed at the emulator over HTTP,
can drive the whole service lifecycle: the emulator serves the real API and accepts the
SDK's signatures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from alibabacloud_eas20210701 import models as m
from alibabacloud_eas20210701.client import Client
from alibabacloud_tea_openapi import models as om
from alibabacloud_tea_openapi.exceptions import ClientException

from cloudinfer.emulator.app import EmulatorConfig, EmulatorThread, parse_access_key
from cloudinfer.emulator.eas.service import Timing
from tests.support import wait_for

REGION = "cn-shanghai"


@pytest.fixture
def emulator() -> Iterator[EmulatorThread]:
    keys = [
        parse_access_key("dev-access-key-id:dev-access-key-secret"),
        parse_access_key("sts-id:sts-secret:sts-token"),
        parse_access_key("other-id:other-secret::other-account"),
    ]
    timing = Timing(deploy_seconds=0.6, update_seconds=0.3, stop_seconds=0.3, delete_seconds=0.3)
    with EmulatorThread(EmulatorConfig(port=0, timing=timing, access_keys=keys)) as emu:
        yield emu


def client(
    emu: EmulatorThread,
    key: str = "dev-access-key-id",
    secret: str = "dev-access-key-secret",
    token: str | None = None,
) -> Client:
    return Client(
        om.Config(
            access_key_id=key,
            access_key_secret=secret,
            security_token=token,
            endpoint=f"127.0.0.1:{emu.port}",
            protocol="http",
            region_id=REGION,
        )
    )


def config(name: str, instances: int = 2, **extra: Any) -> str:
    return json.dumps(
        {
            "name": name,
            "processor": "tensorflow_cpu",
            "model_path": "oss://bucket/model",
            "metadata": {"instance": instances, "cpu": 2, "memory": 4000},
            **extra,
        }
    )


def status(c: Client, name: str) -> str:
    return str(c.describe_service(REGION, name).body.status)


def test_lifecycle(emulator: EmulatorThread) -> None:
    c = client(emulator)
    created = c.create_service(
        m.CreateServiceRequest(body=config("svc_a"), labels={"team": "a b+c"})
    )
    assert created.body.service_name == "svc_a" and created.body.status == "Creating"
    assert created.body.service_id.startswith("eas-m-")

    described = c.describe_service(REGION, "svc_a").body
    assert described.total_instance == 2 and described.labels[0].label_value == "a b+c"
    assert json.loads(described.service_config)["model_path"] == "oss://bucket/model"
    wait_for(lambda: status(c, "svc_a") == "Running", 10, "Running")
    running = c.describe_service(REGION, "svc_a").body
    assert running.running_instance == 2 and running.pending_instance == 0 and running.access_token

    listed = c.list_services(
        m.ListServicesRequest(page_size=10, filter="svc", label={"team": "a b+c"})
    )
    assert listed.body.total_count == 1 and listed.body.services[0].service_name == "svc_a"

    cloned = c.clone_service(
        REGION, "svc_a", m.CloneServiceRequest(body=json.dumps({"name": "svc_b"}))
    )
    assert cloned.body.service_name == "svc_b"
    assert (
        json.loads(c.describe_service(REGION, "svc_b").body.service_config)["processor"]
        == "tensorflow_cpu"
    )

    c.update_service(
        REGION, "svc_a", m.UpdateServiceRequest(body=json.dumps({"metadata": {"instance": 3}}))
    )
    assert status(c, "svc_a") == "Updating"
    wait_for(
        lambda: c.describe_service(REGION, "svc_a").body.running_instance == 3, 10, "3 instances"
    )
    assert c.describe_service(REGION, "svc_a").body.latest_version == 2

    c.stop_service(REGION, "svc_a")
    wait_for(lambda: status(c, "svc_a") == "Stopped", 10, "Stopped")
    c.start_service(REGION, "svc_a")
    wait_for(lambda: status(c, "svc_a") == "Running", 10, "Running again")

    c.update_service_auto_scaler(
        REGION,
        "svc_a",
        m.UpdateServiceAutoScalerRequest(
            min=1,
            max=4,
            scale_strategies=[
                m.UpdateServiceAutoScalerRequestScaleStrategies(metric_name="qps", threshold=10)
            ],
        ),
    )
    assert emulator.emulator.eas_store.get("emulator-account", REGION, "svc_a").autoscaler == {
        "min": 1,
        "max": 4,
        "scaleStrategies": [{"metricName": "qps", "threshold": 10}],
    }

    c.update_service_label(REGION, "svc_a", m.UpdateServiceLabelRequest(labels={"owner": "x"}))
    labels = {
        la.label_key: la.label_value for la in c.describe_service(REGION, "svc_a").body.labels
    }
    assert labels == {"team": "a b+c", "owner": "x"}  # added, the others kept

    events = c.describe_service_event(REGION, "svc_a", m.DescribeServiceEventRequest()).body
    assert {"Creating", "Running", "Stopped"} <= {e.reason for e in events.events}

    for name in ("svc_a", "svc_b"):
        c.delete_service(REGION, name)
    wait_for(lambda: c.list_services(m.ListServicesRequest()).body.total_count == 0, 10, "deletion")


def test_errors_in_the_cloud_shape(emulator: EmulatorThread) -> None:
    c = client(emulator)
    with pytest.raises(ClientException) as missing:
        c.describe_service(REGION, "nope")
    assert missing.value.code == "InvalidService.NotFound" and missing.value.status_code == 404

    c.create_service(m.CreateServiceRequest(body=config("dup")))
    with pytest.raises(ClientException) as dup:
        c.create_service(m.CreateServiceRequest(body=config("dup")))
    assert dup.value.code == "ServiceAlreadyExists" and dup.value.status_code == 409

    other = client(emulator, "other-id", "other-secret")
    with pytest.raises(ClientException) as owned:
        other.create_service(m.CreateServiceRequest(body=config("dup")))
    assert owned.value.code == "Forbidden.PrivilegeCheckFailed"

    with pytest.raises(ClientException) as invalid:
        c.create_service(
            m.CreateServiceRequest(
                body=json.dumps({"name": "x", "processor": "p", "metadata": {"instance": -1}})
            )
        )
    assert invalid.value.code == "InvalidParameter" and "metadata.instance" in invalid.value.message


def test_signatures(emulator: EmulatorThread) -> None:
    with pytest.raises(ClientException) as bad:
        client(emulator, secret="wrong").list_services(m.ListServicesRequest())
    assert bad.value.code == "SignatureDoesNotMatch"
    with pytest.raises(ClientException) as unknown:
        client(emulator, key="nobody").list_services(m.ListServicesRequest())
    assert unknown.value.code == "InvalidAccessKeyId.NotFound"
    # Temporary credentials: the security token is checked too.
    assert (
        client(emulator, "sts-id", "sts-secret", "sts-token")
        .list_services(m.ListServicesRequest())
        .body.total_count
        == 0
    )
    with pytest.raises(ClientException) as wrong_token:
        client(emulator, "sts-id", "sts-secret", "stale").list_services(m.ListServicesRequest())
    assert wrong_token.value.code == "InvalidSecurityToken.Mismatch"


def test_failing_config_ends_failed(emulator: EmulatorThread) -> None:
    c = client(emulator)
    c.create_service(
        m.CreateServiceRequest(
            body=config("broken", containers=[{"image": "registry/emulator-fail:1", "port": 8000}])
        )
    )
    wait_for(lambda: status(c, "broken") == "Failed", 10, "Failed")
    body = c.describe_service(REGION, "broken").body
    assert "pull image" in body.message and body.running_instance == 0


def test_throttling_fault_reaches_the_sdk_as_throttling(emulator: EmulatorThread) -> None:
    from alibabacloud_tea_openapi.exceptions import ThrottlingException

    from cloudinfer.emulator.faults import FaultRule

    emulator.emulator.faults.add(
        FaultRule(kind="throttle", operation="ListServices", count=1, seconds=3)
    )
    c = client(emulator)
    with pytest.raises(ThrottlingException) as throttled:
        c.list_services(m.ListServicesRequest())
    assert throttled.value.retry_after == 3
    assert c.list_services(m.ListServicesRequest()).body.total_count == 0  # count=1: only once
