"""Conformance: the official `huaweicloudsdkcore`, unmodified, drives the emulator's ModelArts
v1 API over HTTP. The ModelArts SDK has only the v2 API, so the calls go through its generic
`call_api` (reference/huawei.md §4.3), which signs with SDK-HMAC-SHA256 and parses errors as
it does for every Huawei API: create, show, list, update, delete and events, the body
validations' codes, scoping, the gateway's refusals, IAM tokens, Host dispatch, faults and
the call log, and the admin routes (instance health, quota)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from cloudinfer.emulator.app import EmulatorConfig, EmulatorThread, parse_access_key
from cloudinfer.emulator.eas.service import Timing
from cloudinfer.emulator.faults import FaultRule
from tests.support import wait_for
from tests.unit.clouds.huawei.sdk import sdk_home
from tests.unit.emulator.modelarts_support import INVALID_CREATES, body, model

# Importing the SDK writes $HOME/.huaweicloud/application_id: a throwaway HOME while it loads.
with sdk_home():
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.exceptions.exceptions import (
        ClientRequestException,
        ServerResponseException,
        ServiceResponseException,
    )
    from huaweicloudsdkmodelarts.v1 import ModelArtsClient

PROJECT = "0a1b2c3d4e5f"
SERVICES = "/v1/{project_id}/services"
ONE = SERVICES + "/{service_id}"
TOKEN = "iam-token-for-the-dev-account"
CLOUD = "huawei-modelarts"


def emulator_config() -> EmulatorConfig:
    keys = [
        parse_access_key("dev-access-key-id:dev-access-key-secret"),
        parse_access_key("other-id:other-secret::other-account"),
    ]
    timing = Timing(deploy_seconds=0.6, update_seconds=0.3, stop_seconds=0.3, delete_seconds=0.3)
    return EmulatorConfig(
        port=0,
        timing=timing,
        access_keys=keys,
        iam_tokens={TOKEN: "emulator-account"},
        region="cn-north-4",
    )


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("HOME", str(tmp_path))


@pytest.fixture
def emulator() -> Iterator[EmulatorThread]:
    with EmulatorThread(emulator_config()) as emu:
        yield emu


@pytest.fixture(scope="module")
def shared_emulator() -> Iterator[EmulatorThread]:
    with EmulatorThread(emulator_config()) as emu:
        yield emu


def client(
    emu: EmulatorThread,
    ak: str = "dev-access-key-id",
    sk: str = "dev-access-key-secret",
    project: str = PROJECT,
) -> Any:
    return (
        ModelArtsClient.new_builder()
        .with_credentials(BasicCredentials(ak, sk, project))  # all three: no IAM, no metadata
        .with_endpoint(emu.url)
        .build()
    )


def call(
    c: Any,
    method: str,
    path: str,
    service_id: str | None = None,
    query: list[tuple[str, Any]] | None = None,
    payload: Any = None,
    headers: dict[str, str] | None = None,
) -> Any:
    response = c.call_api(
        path,
        method,
        path_params={} if service_id is None else {"service_id": service_id},
        query_params=query or [],
        header_params=headers or {},
        body=payload,
        response_type="SuccessResponse",
    )
    return json.loads(response.raw_content or b"{}")


def refused(expected: type[ServiceResponseException], fn: Any) -> ServiceResponseException:
    with pytest.raises(expected) as raised:
        fn()
    return raised.value


def show(c: Any, sid: str) -> Any:
    return call(c, "GET", ONE, sid)


def test_lifecycle(emulator: EmulatorThread) -> None:
    c = client(emulator)
    created = call(
        c,
        "POST",
        SERVICES,
        payload=body(
            "mnist",
            model("m-a", "70", 2, envs={"MODEL": "a"}),
            model("m-b", "30", 1, specification="custom", custom_spec={"cpu": 1.5, "memory": 2048}),
            description="mnist service",
        ),
    )
    sid = created["service_id"]
    assert created["resource_ids"] == [sid]

    shown = show(c, sid)
    assert (shown["service_name"], shown["status"], shown["infer_type"]) == (
        "mnist",
        "deploying",
        "real-time",
    )
    assert 0 <= shown["progress"] < 100 and shown["project"] == PROJECT
    assert isinstance(shown["publish_at"], int) and shown["publish_at"] > 10**12  # epoch ms
    a, b = shown["config"]
    assert (a["weight"], a["instance_count"], a["envs"], a["status"]) == (
        70,
        2,
        {"MODEL": "a"},
        "deploying",
    )
    assert b["custom_spec"] == {"cpu": 1.5, "memory": 2048} and b["weight"] == 30
    assert ".apig.cn-north-4.huaweicloudapis.com/v1/infers/" in shown["access_address"]

    wait_for(lambda: show(c, sid)["status"] == "running", 10, "running")
    assert show(c, sid)["progress"] == 100

    other = call(c, "POST", SERVICES, payload=body("second"))["service_id"]
    listed = call(c, "GET", SERVICES, query=[("limit", 1), ("offset", 1), ("order", "asc")])
    assert (listed["total_count"], listed["count"]) == (2, 1)
    assert listed["services"][0]["service_id"] == other  # page 1 of 1-item pages
    assert "config" not in listed["services"][0]
    everything = call(c, "GET", SERVICES)  # default limit 1000
    assert {s["service_name"] for s in everything["services"]} == {"mnist", "second"}

    assert call(c, "PUT", ONE, sid, payload={"config": [model("m-c", 100, 3)]}) == {}
    assert show(c, sid)["status"] == "deploying"
    wait_for(lambda: show(c, sid)["status"] == "running", 10, "running after the update")
    assert [i["model_id"] for i in show(c, sid)["config"]] == ["m-c"]

    call(c, "PUT", ONE, sid, payload={"status": "stopped"})
    wait_for(lambda: show(c, sid)["status"] == "stopped", 10, "stopped")
    call(c, "PUT", ONE, sid, payload={"status": "running"})
    wait_for(lambda: show(c, sid)["status"] == "running", 10, "running again")

    events = call(c, "GET", ONE + "/events", sid, query=[("order", "asc")])
    assert (events["service_id"], events["service_name"]) == (sid, "mnist")
    assert events["total_count"] == events["count"] == len(events["events"])
    infos = [e["event_info"] for e in events["events"]]
    assert infos[0] == "The service starts to deploy."
    assert {"The service is being updated.", "The service has been stopped."} <= set(infos)
    assert all(e["event_type"] == "normal" and e["occur_time"] > 10**12 for e in events["events"])

    assert call(c, "DELETE", ONE, f"{sid},{other}") == {}  # a comma-separated batch
    assert show(c, sid)["status"] == "deleting"
    wait_for(lambda: call(c, "GET", SERVICES)["total_count"] == 0, 10, "deletion")
    gone = refused(ClientRequestException, lambda: show(c, sid))
    assert (gone.status_code, gone.error_code) == (404, "ModelArts.3502")
    assert gone.request_id  # from X-Request-Id


def test_a_failing_model_reports_error_msg_and_an_abnormal_event(emulator: EmulatorThread) -> None:
    c = client(emulator)
    sid = call(c, "POST", SERVICES, payload=body("bad", model("emulator-fail-1")))["service_id"]
    wait_for(lambda: show(c, sid)["status"] == "failed", 10, "failed")
    assert "emulator-fail-1" in show(c, sid)["error_msg"]
    abnormal = call(c, "GET", ONE + "/events", sid, query=[("event_type", "abnormal")])
    assert abnormal["count"] == 1 and "failed" in abnormal["events"][0]["event_info"]


@pytest.mark.parametrize("case", sorted(INVALID_CREATES))
def test_each_validation_answers_its_code_over_http(
    shared_emulator: EmulatorThread, case: str
) -> None:
    raw, code = INVALID_CREATES[case]
    error = refused(
        ClientRequestException, lambda: call(client(shared_emulator), "POST", SERVICES, payload=raw)
    )
    assert (error.status_code, error.error_code) == (400, code)
    assert error.error_msg


def test_update_refusals_over_http(emulator: EmulatorThread) -> None:
    c = client(emulator)
    sid = call(c, "POST", SERVICES, payload=body("svc"))["service_id"]
    busy = refused(
        ClientRequestException, lambda: call(c, "PUT", ONE, sid, payload={"config": [model("x")]})
    )
    assert (busy.status_code, busy.error_code) == (400, "ModelArts.3519")
    weights = refused(
        ClientRequestException,
        lambda: call(c, "PUT", ONE, sid, payload={"config": [model("x", 40)]}),
    )
    assert weights.error_code == "ModelArts.0101"
    call(c, "POST", SERVICES, payload=body("taken"))
    taken = refused(
        ClientRequestException, lambda: call(c, "POST", SERVICES, payload=body("taken"))
    )
    assert (taken.status_code, taken.error_code) == (409, "ModelArts.3503")


def test_accounts_and_projects_see_only_their_own(emulator: EmulatorThread) -> None:
    mine = client(emulator)
    sid = call(mine, "POST", SERVICES, payload=body("private"))["service_id"]
    for stranger in (client(emulator, "other-id", "other-secret"), client(emulator, project="p2")):
        missing = refused(ClientRequestException, lambda c=stranger: show(c, sid))
        assert (missing.status_code, missing.error_code) == (404, "ModelArts.3502")
        assert call(stranger, "GET", SERVICES) == {"total_count": 0, "count": 0, "services": []}
        assert refused(
            ClientRequestException, lambda c=stranger: call(c, "DELETE", ONE, sid)
        ).error_code == ("ModelArts.3502")
    assert show(mine, sid)["service_name"] == "private"
    # The URL names another project than the credentials' X-Project-Id.
    mismatch = refused(ClientRequestException, lambda: call(mine, "GET", "/v1/p2/services"))
    assert (mismatch.status_code, mismatch.error_code) == (403, "ModelArts.0210")


def test_the_gateway_refuses_bad_signatures_and_stale_dates(emulator: EmulatorThread) -> None:
    wrong_secret = client(emulator, sk="not-the-secret")
    bad = refused(ClientRequestException, lambda: call(wrong_secret, "GET", SERVICES))
    assert (bad.status_code, bad.error_code) == (401, "APIGW.0301") and bad.request_id
    stale = refused(
        ClientRequestException,
        lambda: call(client(emulator), "GET", SERVICES, headers={"X-Sdk-Date": "20200101T000000Z"}),
    )
    assert (stale.status_code, stale.error_code) == (401, "APIGW.0301")
    unknown = refused(
        ClientRequestException, lambda: call(client(emulator, "nobody"), "GET", SERVICES)
    )
    assert unknown.error_code == "APIGW.0301"
    calls = emulator.emulator.calls.query(cloud=CLOUD)
    assert [(c["status"], c["account"]) for c in calls] == [(401, "")] * 3


def test_an_iam_token_acts_for_its_account(emulator: EmulatorThread) -> None:
    sid = call(client(emulator), "POST", SERVICES, payload=body("by-key"))["service_id"]
    url = f"{emulator.url}/v1/{PROJECT}/services/{sid}"
    with httpx.Client(trust_env=False) as http:
        ok = http.get(url, headers={"X-Auth-Token": TOKEN})
        assert ok.status_code == 200 and ok.json()["service_name"] == "by-key"
        assert len(ok.headers["X-Request-Id"]) == 32
        bad = http.get(url, headers={"X-Auth-Token": "forged"})
        assert bad.status_code == 401 and bad.json()["error_code"] == "APIGW.0301"
        assert bad.json()["request_id"] == bad.headers["X-Request-Id"]
        unsigned = http.get(url)
        assert unsigned.status_code == 401


def test_the_host_names_the_region_or_another_product(emulator: EmulatorThread) -> None:
    c = client(emulator)
    ours = {"Host": "modelarts.ap-southeast-3.myhuaweicloud.com"}
    sid = call(c, "POST", SERVICES, payload=body("hosted"), headers=ours)["service_id"]
    assert ".apig.ap-southeast-3." in show(c, sid)["access_address"]
    assert (
        ".apig.cn-north-4."
        in show(c, call(c, "POST", SERVICES, payload=body("ip"))["service_id"])["access_address"]
    )  # an IP: the emulator's default region
    theirs = {"Host": "iam.cn-north-4.myhuaweicloud.com"}
    elsewhere = refused(ClientRequestException, lambda: call(c, "GET", SERVICES, headers=theirs))
    assert (elsewhere.status_code, elsewhere.error_code) == (404, "APIGW.0101")


def test_faults_answer_in_the_huawei_shape_and_the_call_log_names_the_cloud(
    emulator: EmulatorThread,
) -> None:
    c = client(emulator)
    sid = call(c, "POST", SERVICES, payload=body("svc"))["service_id"]
    faults = emulator.emulator.faults
    faults.add(FaultRule(kind="error", operation="ShowService", cloud="alibaba-eas", count=1))
    assert show(c, sid)["service_id"] == sid  # another cloud's rule
    faults.add(
        FaultRule(
            kind="error",
            operation="ShowService",
            cloud=CLOUD,
            count=1,
            status=503,
            code="ModelArts.0010",
            message="Internal error.",
        )
    )
    down = refused(ServerResponseException, lambda: show(c, sid))
    assert (down.status_code, down.error_code, down.error_msg) == (
        503,
        "ModelArts.0010",
        "Internal error.",
    )
    faults.add(FaultRule(kind="throttle", operation="ListServices", count=1, seconds=3))
    throttled = refused(ClientRequestException, lambda: call(c, "GET", SERVICES))
    assert throttled.status_code == 429
    assert call(c, "GET", SERVICES)["total_count"] == 1
    logged = [
        (x["operation"], x["status"], x["code"], x["target"], x["account"])
        for x in emulator.emulator.calls.query(cloud=CLOUD)
    ]
    assert logged == [
        ("CreateService", 200, "", "svc", "emulator-account"),
        ("ShowService", 200, "", sid, "emulator-account"),
        ("ShowService", 503, "ModelArts.0010", sid, ""),
        ("ListServices", 429, "APIGW.0308", "", ""),
        ("ListServices", 200, "", "", "emulator-account"),
    ]


def test_admin_health_makes_a_service_concerning_and_quota_refuses(
    emulator: EmulatorThread,
) -> None:
    c = client(emulator)
    sid = call(c, "POST", SERVICES, payload=body("svc", model("a", 50, 2), model("b", 50)))[
        "service_id"
    ]
    wait_for(lambda: show(c, sid)["status"] == "running", 10, "running")
    admin = f"{emulator.url}/_emulator/modelarts"
    with httpx.Client(trust_env=False) as http:
        marked = http.put(f"{admin}/services/{sid}/health", json={"unhealthy": 1, "model_id": "b"})
        assert marked.status_code == 200 and marked.json()["status"] == "concerning"
        shown = show(c, sid)
        assert shown["status"] == "concerning"
        assert [i["status"] for i in shown["config"]] == ["running", "concerning"]
        http.put(f"{admin}/services/{sid}/health", json={"unhealthy": 0, "model_id": "b"})
        assert show(c, sid)["status"] == "running"
        assert http.put(f"{admin}/services/nope/health", json={"unhealthy": 1}).status_code == 404
        listed = http.get(f"{admin}/services", params={"account": "emulator-account"}).json()
        assert [s["service_id"] for s in listed] == [sid]

        assert http.put(f"{admin}/quota", json={"services": 1}).json()["services"] == 1
        full = refused(ClientRequestException, lambda: call(c, "POST", SERVICES, payload=body("x")))
        assert (full.status_code, full.error_code) == (400, "ModelArts.3520")
        assert http.put(f"{admin}/quota", json={"bogus": 1}).status_code == 400
        http.put(f"{admin}/quota", json={"services": None})
        call(c, "POST", SERVICES, payload=body("x"))
        assert http.delete(f"{admin}/services").status_code == 200
    assert call(c, "GET", SERVICES)["total_count"] == 0
