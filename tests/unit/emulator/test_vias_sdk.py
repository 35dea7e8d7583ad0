"""Conformance: the official `huaweicloudsdkcore`, unmodified, drives the emulator's VIAS
algorithm-service API over HTTP. There is no VIAS Python SDK (reference/huawei.md §6), so
the calls go through the core's generic request path (`do_http_request`, which every
generated client's `call_api` is; §4.3), signed with SDK-HMAC-SHA256 from AK, SK and project
id, with list query parameters sent as the core sends them (repeated keys), and errors
parsed as for every Huawei API: DeployAlgorithm, StopDeployAlgorithm, ShowServiceDetail and
ListUserServices, their refusals' codes (not-found is a 400), scoping, the gateway's
refusals, IAM tokens, Host dispatch, faults and the call log, and the admin routes. The VIAS
services move on only when a test moves their store's clock: no waiting on real time."""

from __future__ import annotations

import json
import time
import types
from collections.abc import Iterator
from typing import Any, ClassVar

import httpx
import pytest

from cloudinfer.emulator.app import EmulatorConfig, EmulatorThread, parse_access_key
from cloudinfer.emulator.config import ViasAlgorithm
from cloudinfer.emulator.eas.service import Timing
from cloudinfer.emulator.faults import FaultRule
from cloudinfer.emulator.vias.listing import ServiceQuery
from tests.unit.clouds.huawei.sdk import sdk_home
from tests.unit.emulator.helpers import Clock
from tests.unit.emulator.vias_support import INVALID_DEPLOYS

# Importing the SDK writes $HOME/.huaweicloud/application_id: a throwaway HOME while it loads.
with sdk_home():
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.client import Client, ClientBuilder
    from huaweicloudsdkcore.exceptions.exceptions import (
        ClientRequestException,
        ServerResponseException,
        ServiceResponseException,
    )
    from huaweicloudsdkcore.sdk_response import SdkResponse

PROJECT = "0a1b2c3d4e5f"
ACCOUNT = "emulator-account"
ALG = "alg-1"  # the test project's own algorithm
EVERYWHERE = "alg-all"  # offered in every project of the account
POOL = "pool-1"
TOKEN = "iam-token-for-the-dev-account"
CLOUD = "huawei-vias"
DEPLOY = "/v2/{project_id}/algorithm/{alg_id}/deploy"
STOP = DEPLOY + "/stop"
LIST = "/v2/{project_id}/algorithm/services/user"
SHOW = "/v2/{project_id}/algorithm/services/{service_id}"


class SuccessResponse(SdkResponse):  # type: ignore[misc]
    """A model with no fields: the core keeps the raw body, which the tests read."""

    openapi_types: ClassVar[dict[str, str]] = {}
    attribute_map: ClassVar[dict[str, str]] = {}


class ViasClient(Client):  # type: ignore[misc]
    """The core client as every generated client is: a model package, and `call_api`."""

    def __init__(self) -> None:
        super().__init__()
        self.model_package = types.SimpleNamespace(SuccessResponse=SuccessResponse)

    def call_api(self, resource_path: str, method: str, **kwargs: Any) -> Any:
        return self.do_http_request(method=method, resource_path=resource_path, **kwargs)


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
        iam_tokens={TOKEN: ACCOUNT},
        region="cn-north-4",
        vias_algorithms=[
            ViasAlgorithm(ALG, "Intrusion Detection", PROJECT, ACCOUNT),
            ViasAlgorithm(EVERYWHERE, "Crowd Counting", None, ACCOUNT),
            ViasAlgorithm(ALG, "Their Detection", None, "other-account"),
        ],
    )


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("HOME", str(tmp_path))


def started() -> EmulatorThread:
    """An emulator whose VIAS services move on only when the test moves their clock (the
    signatures' freshness is still checked against real time)."""
    emu = EmulatorThread(emulator_config())
    emu.emulator.vias_store.clock = Clock(time.time())
    return emu


def later(emu: EmulatorThread, seconds: float = 1.0) -> None:
    clock = emu.emulator.vias_store.clock
    assert isinstance(clock, Clock)
    clock.now += seconds


@pytest.fixture
def emulator() -> Iterator[EmulatorThread]:
    with started() as emu:
        yield emu


@pytest.fixture(scope="module")
def shared_emulator() -> Iterator[EmulatorThread]:
    with started() as emu:
        yield emu


def client(
    emu: EmulatorThread,
    ak: str = "dev-access-key-id",
    sk: str = "dev-access-key-secret",
    project: str = PROJECT,
) -> Any:
    return (
        ClientBuilder(ViasClient)
        .with_credentials(BasicCredentials(ak, sk, project))  # all three: no IAM, no metadata
        .with_endpoint(emu.url)
        .build()
    )


def call(
    c: Any,
    method: str,
    path: str,
    *,
    alg_id: str | None = None,
    service_id: str | None = None,
    query: list[tuple[str, Any]] | None = None,
    payload: Any = None,
    headers: dict[str, str] | None = None,
) -> Any:
    path_params = {k: v for k, v in (("alg_id", alg_id), ("service_id", service_id)) if v}
    # As a generated client declares its list parameters (the core sends them as repeated keys).
    formats = {k: "csv" for k, v in query or [] if isinstance(v, list)}
    response = c.call_api(
        path,
        method,
        path_params=path_params,
        query_params=query or [],
        header_params=headers or {},
        body=payload,
        response_type="SuccessResponse",
        collection_formats=formats,
    )
    assert response.status_code == 200
    return json.loads(response.raw_content or b"{}")


def deploy(c: Any, alg_id: str = ALG, **body: Any) -> Any:
    return call(c, "POST", DEPLOY, alg_id=alg_id, payload=body)


def stop(c: Any, alg_id: str = ALG) -> Any:
    return call(c, "PUT", STOP, alg_id=alg_id)


def listing(c: Any, *query: tuple[str, Any]) -> Any:
    return call(c, "GET", LIST, query=list(query))


def show(c: Any, service_id: str) -> Any:
    return call(c, "GET", SHOW, service_id=service_id)


def service_id(c: Any, alg_id: str = ALG) -> str:
    (found,) = [s for s in listing(c)["service_list"] if s["alg_id"] == alg_id]
    return str(found["service_id"])


def status(c: Any, sid: str) -> str:
    return str(show(c, sid)["alg_status"])


def refused(expected: type[ServiceResponseException], fn: Any) -> ServiceResponseException:
    with pytest.raises(expected) as raised:
        fn()
    return raised.value


def test_lifecycle(emulator: EmulatorThread) -> None:
    c = client(emulator)
    listed = listing(c)
    assert (listed["count"], listed["total"]) == (2, 2)
    assert {s["alg_id"]: s["alg_status"] for s in listed["service_list"]} == {
        ALG: "not_deployed",
        EVERYWHERE: "not_deployed",
    }
    item = next(s for s in listed["service_list"] if s["alg_id"] == ALG)
    assert set(item) == {
        "alg_id",
        "service_id",
        "service_name",
        "package_id",
        "package_name",
        "company",
        "alg_version",
        "function_version",
        "tags",
        "created_at",
        "alg_status",
        "deploy_type",
        "alg_class",
        "request_mode",
    }  # description, error_msg, can_update and new_alg_id only when set
    sid = item["service_id"]
    shown = show(c, sid)
    assert (shown["service_id"], shown["alg_id"], shown["service_name"]) == (
        sid,
        ALG,
        "Intrusion Detection",
    )
    assert isinstance(shown["created_at"], int) and shown["created_at"] > 10**12  # epoch ms
    assert shown["service_api_list"][0] == {
        "request_type": "POST",
        "zh": "Creating a Task",
        "en": "create task",
        "request_url": f"/v2/{PROJECT}/services/{shown['api']}/tasks",
    }
    assert shown["deployment_constraints"]["accelerators"][0]["type"] == "gp"

    assert deploy(c, pool_id=POOL, stream_count=4, envs={"A": "b"}) == {
        "alg_name": "Intrusion Detection"
    }
    shown = show(c, sid)
    assert (shown["alg_status"], shown["pool_id"]) == ("service_deploying", POOL)
    assert shown["updated_at"] >= shown["created_at"]
    later(emulator)
    assert status(c, sid) == "service_running"

    deploy(c, stream_count=8, deploy_config={"sub_scene": "night"})  # an upgrade, same pool
    assert status(c, sid) == "service_upgrading"
    later(emulator)
    assert status(c, sid) == "service_running"

    assert stop(c) == {"alg_id": ALG}
    assert status(c, sid) == "service_stopping"
    assert stop(c) == {"alg_id": ALG}  # again: 200, nothing changes
    later(emulator)
    assert status(c, sid) == "service_stopped"
    assert stop(c) == {"alg_id": ALG}

    # alg_status as a list: the core sends alg_status=a&alg_status=b.
    chosen = listing(c, ("alg_status", ["service_stopped", "service_running"]))
    assert [s["alg_id"] for s in chosen["service_list"]] == [ALG]
    both = listing(c, ("alg_status", ["service_stopped", "not_deployed"]))
    assert (both["count"], both["total"]) == (2, 2)
    csv = listing(c, ("alg_status", "service_stopped,not_deployed"))
    assert csv["total"] == 2
    page = listing(c, ("is_paged", True), ("page_size", 5), ("page_num", 1), ("order_by", "asc"))
    assert (page["count"], page["total"]) == (2, 2)
    beyond = listing(c, ("is_paged", True), ("page_size", 5), ("page_num", 2))
    assert (beyond["count"], beyond["total"], beyond["service_list"]) == (0, 2, [])
    named = listing(c, ("name_like", "crowd"))
    assert [s["alg_id"] for s in named["service_list"]] == [EVERYWHERE]


def test_a_list_parameter_arrives_as_repeated_keys(
    emulator: EmulatorThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    received: list[list[tuple[str, str]]] = []
    parse = ServiceQuery.from_params

    def spy(params: Any) -> ServiceQuery:
        received.append(list(params.items()))
        return parse(params)

    monkeypatch.setattr(ServiceQuery, "from_params", spy)
    answer = listing(client(emulator), ("alg_status", ["service_running", "not_deployed"]))
    assert answer["total"] == 2
    assert received == [[("alg_status", "not_deployed"), ("alg_status", "service_running")]]


def test_a_failing_config_reports_error_msg(emulator: EmulatorThread) -> None:
    c = client(emulator)
    sid = service_id(c)
    deploy(c, pool_id=POOL, stream_count=1, deploy_config={"model": "emulator-fail-1"})
    later(emulator, 0.2)  # half-way through the deploy time
    assert status(c, sid) == "service_deploying"
    later(emulator, 0.1)
    assert status(c, sid) == "service_failed"
    assert "emulator-fail" in show(c, sid)["error_msg"]
    (item,) = listing(c, ("alg_status", ["service_failed"]))["service_list"]
    assert "emulator-fail" in item["error_msg"]
    deploy(c, stream_count=1, deploy_config={})  # a retry on the same pool
    assert "error_msg" not in show(c, sid)


@pytest.mark.parametrize("case", sorted(INVALID_DEPLOYS))
def test_each_validation_answers_its_code_over_http(
    shared_emulator: EmulatorThread, case: str
) -> None:
    raw, parameter = INVALID_DEPLOYS[case]
    c = client(shared_emulator)
    error = refused(
        ClientRequestException, lambda: call(c, "POST", DEPLOY, alg_id=ALG, payload=raw)
    )
    assert (error.status_code, error.error_code) == (400, "VIAS.00010001")
    assert parameter in error.error_msg and error.request_id


def test_refusals_over_http(emulator: EmulatorThread) -> None:
    c = client(emulator)
    unknown = refused(ClientRequestException, lambda: deploy(c, "alg-none", stream_count=1))
    assert (unknown.status_code, unknown.error_code) == (400, "VIAS.00010002")
    assert unknown.error_msg == "The object does not exist." and len(unknown.request_id) == 32
    pool = refused(ClientRequestException, lambda: deploy(c, stream_count=1))
    assert pool.error_code == "VIAS.00010001" and "pool_id" in pool.error_msg
    bad_id = refused(ClientRequestException, lambda: deploy(c, "alg_1", stream_count=1))
    assert bad_id.error_code == "VIAS.00010001" and "alg_id" in bad_id.error_msg
    not_deployed = refused(ClientRequestException, lambda: stop(c))
    assert (not_deployed.status_code, not_deployed.error_code) == (400, "VIAS.00010002")
    missing = refused(ClientRequestException, lambda: show(c, "no-such-service"))
    assert (missing.status_code, missing.error_code) == (400, "VIAS.00010002")
    for query in (("page_size", 4), ("page_size", 201), ("page_num", 0), ("page_num", 10001)):
        bounds = refused(ClientRequestException, lambda q=query: listing(c, ("is_paged", True), q))
        assert bounds.error_code == "VIAS.00010001" and query[0] in bounds.error_msg
    status_bad = refused(ClientRequestException, lambda: listing(c, ("alg_status", ["running"])))
    assert status_bad.error_code == "VIAS.00010001"
    deploy(c, pool_id=POOL, stream_count=1)
    busy = refused(ClientRequestException, lambda: deploy(c, stream_count=2))
    assert (busy.status_code, busy.error_code) == (400, "VIAS.00010003")
    # The whole VIAS body, as the error page documents it.
    with httpx.Client(trust_env=False) as http:
        url = f"{emulator.url}/v2/{PROJECT}/algorithm/{ALG}/deploy"
        answer = http.post(url, json={"stream_count": 0}, headers={"X-Auth-Token": TOKEN})
    assert answer.status_code == 400
    assert answer.json() == {
        "error_code": "VIAS.00010001",
        "error_msg": answer.json()["error_msg"],
        "detail": "it must be in [1, 10000], got 0.",
        "params": ["stream_count"],
        "reason": "The parameters are invalid.",
        "advice": "Correct stream_count and try again.",
    }
    assert len(answer.headers["X-Request-Id"]) == 32


def test_accounts_and_projects_see_only_their_own(emulator: EmulatorThread) -> None:
    mine = client(emulator)
    sid = service_id(mine)
    deploy(mine, pool_id=POOL, stream_count=1)
    theirs = client(emulator, "other-id", "other-secret")
    elsewhere = client(emulator, project="p2")
    for stranger in (theirs, elsewhere):
        gone = refused(ClientRequestException, lambda c=stranger: show(c, sid))
        assert (gone.status_code, gone.error_code) == (400, "VIAS.00010002")
    # The other account has its own ALG (in every project), not deployed.
    assert [(s["alg_id"], s["alg_status"]) for s in listing(theirs)["service_list"]] == [
        (ALG, "not_deployed")
    ]
    assert service_id(theirs) != sid
    assert [s["alg_id"] for s in listing(elsewhere)["service_list"]] == [EVERYWHERE]
    refused(ClientRequestException, lambda: deploy(elsewhere, ALG, pool_id=POOL, stream_count=1))
    assert status(mine, sid) == "service_deploying"
    # The URL names another project than the credentials' X-Project-Id.
    mismatch = refused(
        ClientRequestException, lambda: call(mine, "GET", "/v2/p2/algorithm/services/user")
    )
    assert (mismatch.status_code, mismatch.error_code) == (401, "VIAS.00010005")


def test_the_gateway_refuses_bad_signatures_and_tokens(emulator: EmulatorThread) -> None:
    wrong = client(emulator, sk="not-the-secret")
    bad = refused(ClientRequestException, lambda: listing(wrong))
    assert (bad.status_code, bad.error_code) == (401, "APIGW.0301") and bad.request_id
    unknown = refused(ClientRequestException, lambda: listing(client(emulator, "nobody")))
    assert unknown.error_code == "APIGW.0301"
    calls = emulator.emulator.calls.query(cloud=CLOUD)
    assert [(c["operation"], c["status"], c["account"]) for c in calls] == [
        ("ListUserServices", 401, ""),
        ("ListUserServices", 401, ""),
    ]
    url = f"{emulator.url}/v2/{PROJECT}/algorithm/services/user"
    with httpx.Client(trust_env=False) as http:
        ok = http.get(url, headers={"X-Auth-Token": TOKEN}, params={"alg_status": "not_deployed"})
        assert ok.status_code == 200 and ok.json()["total"] == 2
        forged = http.get(url, headers={"X-Auth-Token": "forged"})
        assert forged.status_code == 401 and forged.json()["error_code"] == "APIGW.0301"
        assert forged.json()["request_id"] == forged.headers["X-Request-Id"]
        assert http.get(url).status_code == 401


def test_the_host_names_the_region_or_another_product(emulator: EmulatorThread) -> None:
    c = client(emulator)
    ours = {"Host": "vias.ap-southeast-3.myhuaweicloud.com"}
    assert call(c, "GET", LIST, headers=ours)["total"] == 2
    for host in ("iam.cn-north-4.myhuaweicloud.com", "modelarts.cn-north-4.myhuaweicloud.com"):
        elsewhere = refused(
            ClientRequestException, lambda h=host: call(c, "GET", LIST, headers={"Host": h})
        )
        assert (elsewhere.status_code, elsewhere.error_code) == (404, "APIGW.0101")


def test_faults_answer_in_the_vias_shape_and_the_call_log_names_each_operation(
    emulator: EmulatorThread,
) -> None:
    c = client(emulator)
    sid = service_id(c)
    faults = emulator.emulator.faults
    faults.add(FaultRule(kind="error", operation="ShowServiceDetail", cloud="huawei-fabric"))
    assert show(c, sid)["service_id"] == sid  # another cloud's rule
    faults.clear()
    faults.add(
        FaultRule(
            kind="error",
            operation="ShowServiceDetail",
            cloud=CLOUD,
            count=1,
            status=500,
            code="VIAS.00010006",
            message="Internal error.",
        )
    )
    down = refused(ServerResponseException, lambda: show(c, sid))
    assert (down.status_code, down.error_code, down.error_msg) == (
        500,
        "VIAS.00010006",
        "Internal error.",
    )
    faults.add(FaultRule(kind="throttle", operation="ListUserServices", count=1, seconds=3))
    assert refused(ClientRequestException, lambda: listing(c)).status_code == 429
    deploy(c, pool_id=POOL, stream_count=1)
    stop(c)
    refused(ClientRequestException, lambda: deploy(c, "alg-none", stream_count=1))
    logged = [
        (x["operation"], x["status"], x["code"], x["target"], x["account"])
        for x in emulator.emulator.calls.query(cloud=CLOUD)
    ]
    assert logged == [
        ("ListUserServices", 200, "", "", ACCOUNT),
        ("ShowServiceDetail", 200, "", sid, ACCOUNT),
        ("ShowServiceDetail", 500, "VIAS.00010006", sid, ""),
        ("ListUserServices", 429, "APIGW.0308", "", ""),
        ("DeployAlgorithm", 200, "", ALG, ACCOUNT),
        ("StopDeployAlgorithm", 200, "", ALG, ACCOUNT),
        ("DeployAlgorithm", 400, "VIAS.00010002", "alg-none", ACCOUNT),
    ]


def test_admin_algorithms_and_services(emulator: EmulatorThread) -> None:
    c = client(emulator)
    admin = f"{emulator.url}/_emulator/vias"
    with httpx.Client(trust_env=False) as http:
        put = http.put(
            f"{admin}/algorithms/alg-new",
            json={
                "name": "Helmet Detection",
                "description": "helmets on site",
                "tags": ["safety"],
                "deploy_type": "edge",
                "accelerators": [
                    {"type": "npu", "name": "Ascend 310", "driver_version_section": "x"}
                ],
                "can_update": True,
                "new_alg_id": "alg-new-2",
            },
        )
        assert put.status_code == 200, put.text
        assert (put.json()["project_id"], put.json()["account"]) == (None, ACCOUNT)
        item = next(s for s in listing(c)["service_list"] if s["alg_id"] == "alg-new")
        assert (item["description"], item["tags"], item["deploy_type"]) == (
            "helmets on site",
            ["safety"],
            "edge",
        )
        assert (item["can_update"], item["new_alg_id"]) == (True, "alg-new-2")
        shown = show(c, item["service_id"])
        assert shown["deployment_constraints"]["accelerators"] == [
            {"type": "npu", "name": "Ascend 310", "driver_version_section": "x"}
        ]
        for bad in (
            {},  # no name
            {"name": ""},
            {"name": "n", "deploy_type": "Cloud"},
            {"name": "n", "input_types": ["FTP"]},
            {"name": "n", "accelerators": [{"type": "gp"}]},
            {"name": "n", "release_flag": "yes"},
            {"name": "n", "project": "p/1"},
            {"name": "n", "color": "red"},
        ):
            assert http.put(f"{admin}/algorithms/alg-x", json=bad).status_code == 400, bad
        assert http.put(f"{admin}/algorithms/alg_x", json={"name": "n"}).status_code == 400
        catalogue = http.get(f"{admin}/algorithms").json()
        assert {(a["alg_id"], a["account"], a["project_id"]) for a in catalogue} == {
            (ALG, ACCOUNT, PROJECT),
            (EVERYWHERE, ACCOUNT, None),
            (ALG, "other-account", None),
            ("alg-new", ACCOUNT, None),
        }

        sid = service_id(c)
        deploy(c, pool_id=POOL, stream_count=3, envs={"A": "b"})
        later(emulator)
        assert status(c, sid) == "service_running"
        services = http.get(f"{admin}/services", params={"account": ACCOUNT, "project": PROJECT})
        (mine,) = [s for s in services.json() if s["service_id"] == sid]
        assert (mine["account"], mine["project_id"], mine["stream_count"], mine["envs"]) == (
            ACCOUNT,
            PROJECT,
            3,
            {"A": "b"},
        )
        assert mine["deploy_config"] == {} and mine["alg_status"] == "service_running"
        fresh = http.get(f"{admin}/services", params={"account": ACCOUNT, "project": "p9"}).json()
        assert {s["alg_id"] for s in fresh} == {EVERYWHERE, "alg-new"}  # p9 addressed
        every = http.get(f"{admin}/services", params={"project": "p8"}).json()
        assert {(s["account"], s["alg_id"]) for s in every} == {
            (ACCOUNT, EVERYWHERE),
            (ACCOUNT, "alg-new"),
            ("other-account", ALG),
        }

        concerning = http.put(f"{admin}/services/{sid}", json={"alg_status": "service_concerning"})
        assert concerning.status_code == 200 and status(c, sid) == "service_concerning"
        deploy(c, stream_count=3)  # a concerning service upgrades
        assert status(c, sid) == "service_upgrading"
        finished = {"alg_status": "service_finished", "error_msg": "license expired"}
        assert http.put(f"{admin}/services/{sid}", json=finished).status_code == 200
        assert show(c, sid)["error_msg"] == "license expired"
        done = refused(ClientRequestException, lambda: deploy(c, stream_count=3))
        assert (done.status_code, done.error_code) == (400, "VIAS.00010004")
        for bad in ({"alg_status": "running"}, {"alg_status": "service_failed", "x": 1}, {}):
            assert http.put(f"{admin}/services/{sid}", json=bad).status_code == 400, bad
        none = http.put(f"{admin}/services/nope", json={"alg_status": "service_failed"})
        assert none.status_code == 404
        assert http.delete(f"{admin}/services").status_code == 200
    assert status(c, sid) == "not_deployed"
    assert {s["alg_status"] for s in listing(c)["service_list"]} == {"not_deployed"}
