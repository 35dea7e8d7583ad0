"""Conformance: the official DataArts Fabric SDKs, unmodified, drive the emulator over HTTP —
`huaweicloudsdkdataartsfabricep` (DataArtsFabricEpClient: deploy, list, show, update and
delete service instances) and `huaweicloudsdkdataartsfabric` (DataArtsFabricClient:
show_endpoint, list_endpoints). They sign with SDK-HMAC-SHA256 and parse every answer into
their models: statuses and types must come back as members of the SDK's enums (a value that
is not one becomes an empty enum object), timestamps as datetimes (they cannot parse numeric
offsets). Also: the capacity refusal (400 common.01000030), the validations' codes,
scoping, the gateway's refusals, Host dispatch, faults and the call log, and the admin
routes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from cloudinfer.emulator.app import EmulatorConfig, EmulatorThread, parse_access_key
from cloudinfer.emulator.config import FabricEndpoint
from cloudinfer.emulator.eas.service import Timing
from cloudinfer.emulator.faults import FaultRule
from tests.support import wait_for
from tests.unit.clouds.huawei.sdk import sdk_home
from tests.unit.emulator.fabric_support import INVALID_DEPLOYS

# Importing the SDK writes $HOME/.huaweicloud/application_id: a throwaway HOME while it loads.
with sdk_home():
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.exceptions.exceptions import (
        ClientRequestException,
        ServerResponseException,
        ServiceResponseException,
    )
    from huaweicloudsdkdataartsfabric.v1 import (
        DataArtsFabricClient,
        EndpointStatus,
        EndpointType,
        ListEndpointsRequest,
        ShowEndpointRequest,
    )
    from huaweicloudsdkdataartsfabricep.v1 import (
        BaseDemand,
        DataArtsFabricEpClient,
        DeleteServiceInstanceRequest,
        DeployServiceInstanceRequest,
        ListServicesInstancesRequest,
        ModelServiceInstanceConfig,
        ResourceDemand,
        ServiceInstanceConfig,
        ServiceInstanceInput,
        ServiceType,
        ShowServiceInstanceDetailRequest,
        SourceRef,
        StatusEnum,
        UpdateModelServiceInstanceConfig,
        UpdateServiceInstanceConfig,
        UpdateServiceInstanceInput,
        UpdateServiceInstanceRequest,
    )

WS = "ws-1"
EP = "ep-1"
SPEC = "mu.llama3.8b"
PROJECT = "0a1b2c3d4e5f"
TOKEN = "iam-token-for-the-dev-account"
CLOUD = "huawei-fabric"
ACCOUNT = "emulator-account"


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
        fabric_endpoints=[FabricEndpoint(EP, SPEC, 8, WS, ACCOUNT)],
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


def credentials(ak: str, sk: str) -> Any:
    return BasicCredentials(ak, sk, PROJECT)  # all three: no IAM, no metadata service


def ep_client(
    emu: EmulatorThread, ak: str = "dev-access-key-id", sk: str = "dev-access-key-secret"
) -> Any:
    builder = DataArtsFabricEpClient.new_builder().with_credentials(credentials(ak, sk))
    return builder.with_endpoint(emu.url).build()


def fabric_client(
    emu: EmulatorThread, ak: str = "dev-access-key-id", sk: str = "dev-access-key-secret"
) -> Any:
    builder = DataArtsFabricClient.new_builder().with_credentials(credentials(ak, sk))
    return builder.with_endpoint(emu.url).build()


def members(enum: type) -> set[str]:
    return {v for k, v in vars(enum).items() if k.isupper() and isinstance(v, str)}


def assert_member(value: Any, enum: type) -> None:
    """A real member: the SDK gives the string; anything else becomes an empty enum object."""
    assert isinstance(value, str) and value in members(enum), value


def assert_utc(value: Any) -> None:
    assert isinstance(value, datetime), value  # parsed, not left a raw string
    assert value.utcoffset() == timedelta(0)


def deploy_input(
    name: str = "llm", max_: int = 2, min_: int = 1, source: str = "m-1", endpoint: str = EP
) -> Any:
    resource = ResourceDemand(min=min_, max=max_, spec_code=SPEC)
    return ServiceInstanceInput(
        source=SourceRef(id=source, version_id="v-1"),
        name=name,
        description="an inference service",
        endpoint_id=endpoint,
        config=ServiceInstanceConfig(
            model_instance_config=ModelServiceInstanceConfig(resource=resource)
        ),
    )


def deploy(c: Any, body: Any = None, ws: str = WS) -> str:
    request = DeployServiceInstanceRequest(workspace_id=ws, body=body or deploy_input())
    response = c.deploy_service_instance(request)
    assert response.status_code == 200
    return str(response.id)


def show(c: Any, instance_id: str, ws: str = WS) -> Any:
    request = ShowServiceInstanceDetailRequest(workspace_id=ws, instance_id=instance_id)
    return c.show_service_instance_detail(request)


def listing(c: Any, ws: str = WS, **query: Any) -> Any:
    return c.list_services_instances(ListServicesInstancesRequest(workspace_id=ws, **query))


def update(c: Any, instance_id: str, **fields: Any) -> Any:
    resource = {k: fields.pop(k) for k in ("min", "max") if k in fields}
    config = None
    if resource:
        config = UpdateServiceInstanceConfig(
            model_instance_config=UpdateModelServiceInstanceConfig(resource=BaseDemand(**resource))
        )
    body = UpdateServiceInstanceInput(config=config, **fields)
    request = UpdateServiceInstanceRequest(workspace_id=WS, instance_id=instance_id, body=body)
    return c.update_service_instance(request)


def delete(c: Any, instance_id: str, ws: str = WS) -> Any:
    request = DeleteServiceInstanceRequest(workspace_id=ws, instance_id=instance_id)
    return c.delete_service_instance(request)


def refused(expected: type[ServiceResponseException], fn: Any) -> ServiceResponseException:
    with pytest.raises(expected) as raised:
        fn()
    return raised.value


def status(c: Any, instance_id: str) -> str:
    return str(show(c, instance_id).status)


def test_lifecycle_through_the_official_client(emulator: EmulatorThread) -> None:
    c = ep_client(emulator)
    iid = deploy(c)
    assert 1 <= len(iid) <= 36

    shown = show(c, iid)
    assert shown.status_code == 200
    assert_member(shown.status, StatusEnum)
    assert shown.status in (StatusEnum.PENDING, StatusEnum.CREATING)
    assert_member(shown.type, ServiceType)
    assert shown.type == ServiceType.LLM_MODEL
    assert_utc(shown.create_time)
    assert_utc(shown.update_time)
    assert (shown.id, shown.name, shown.endpoint_id, shown.visibility) == (
        iid,
        "llm",
        EP,
        "PRIVATE",
    )
    assert (shown.source.id, shown.source.version_id) == ("m-1", "v-1")
    assert shown.create_user.domain_name == ACCOUNT and shown.update_user.user_name == ACCOUNT
    assert isinstance(shown.duration, int)
    resource = shown.config.model_instance_config.resource
    assert (resource.min, resource.max, resource.spec_code) == (1, 2, SPEC)
    assert shown.url.type == "PUBLIC"
    assert shown.url.address.endswith(f"/v1/workspaces/{WS}/services/instances/{iid}/invocations")
    assert "fabric-ep.cn-north-4.myhuaweicloud.com" in shown.url.address  # the default region
    assert shown.error_code is None and shown.error_msg is None

    wait_for(lambda: status(c, iid) == StatusEnum.RUNNING, 10, "RUNNING")

    second = deploy(c, deploy_input("second", 1))
    listed = listing(c, limit=1, offset=1, order_by="ASC")
    assert listed.total == 2 and [i.id for i in listed.service_instances] == [second]
    item = listed.service_instances[0]
    assert_member(item.status, StatusEnum)
    assert_member(item.type, ServiceType)
    assert_utc(item.create_time)
    assert item.create_user.domain_name == ACCOUNT
    everything = listing(c)  # default limit 10, newest first
    assert [i.name for i in everything.service_instances] == ["second", "llm"]
    assert listing(c, name="SEC").total == 1

    updated = update(c, iid, name="renamed", max=4)
    assert (updated.status_code, updated.id) == (202, iid)
    assert updated.x_request_id and len(updated.x_request_id) == 32  # the X-request-id header
    assert status(c, iid) == StatusEnum.UPDATING
    wait_for(lambda: status(c, iid) == StatusEnum.RUNNING, 10, "RUNNING after the update")
    shown = show(c, iid)
    assert shown.name == "renamed" and shown.config.model_instance_config.resource.max == 4

    deleted = delete(c, iid)
    assert deleted.status_code == 202
    assert status(c, iid) == StatusEnum.DELETING
    gone = wait_for(
        lambda: "gone" if listing(c).total == 1 else None, 10, "the instance to be deleted"
    )
    assert gone
    missing = refused(ClientRequestException, lambda: show(c, iid))
    assert (missing.status_code, missing.error_code, missing.error_msg) == (
        404,
        "common.01000001",
        "response status exception, code: 404",
    )
    assert missing.request_id  # from X-Request-Id


def test_show_and_list_endpoints_through_the_official_client(emulator: EmulatorThread) -> None:
    f = fabric_client(emulator)
    shown = f.show_endpoint(ShowEndpointRequest(workspace_id=WS, endpoint_id=EP))
    assert shown.status_code == 200
    assert_member(shown.type, EndpointType)
    assert_member(shown.status, EndpointStatus)
    assert (shown.type, shown.status) == (EndpointType.INFERENCE, EndpointStatus.RUNNING)
    mu = shown.reserved_resource.mu
    assert (mu.spec_code, mu.min, mu.max) == (SPEC, 0, 8)
    assert_utc(shown.create_time)
    assert shown.owner.domain_name == ACCOUNT and shown.urls == []
    previous = ShowEndpointRequest(workspace_id=WS, endpoint_id=EP, version="PREVIOUS")
    assert f.show_endpoint(previous).reserved_resource.mu.max == 8

    listed = f.list_endpoints(ListEndpointsRequest(workspace_id=WS, type="inference"))
    assert listed.total == 1 and listed.endpoints[0].id == EP
    assert_member(listed.endpoints[0].type, EndpointType)
    assert listed.endpoints[0].reserved_resource.mu.max == 8

    for request in (
        ShowEndpointRequest(workspace_id=WS, endpoint_id="ep-none"),
        ShowEndpointRequest(workspace_id="ws-2", endpoint_id=EP),  # another workspace's
    ):
        missing = refused(ClientRequestException, lambda r=request: f.show_endpoint(r))
        assert (missing.status_code, missing.error_code) == (404, "common.01000001")
    other = fabric_client(emulator, "other-id", "other-secret")  # another account's
    assert refused(
        ClientRequestException,
        lambda: other.show_endpoint(ShowEndpointRequest(workspace_id=WS, endpoint_id=EP)),
    ).status_code == (404)
    assert other.list_endpoints(ListEndpointsRequest(workspace_id=WS)).total == 0


def test_the_capacity_rule_refuses_through_the_official_client(emulator: EmulatorThread) -> None:
    c = ep_client(emulator)
    first = deploy(c, deploy_input("a", 5))
    deploy(c, deploy_input("b", 3))  # 8 of 8
    over = refused(ClientRequestException, lambda: deploy(c, deploy_input("c", 1)))
    assert (over.status_code, over.error_code) == (400, "common.01000030")
    assert over.error_msg == (
        f"The maximum resources of the inference services on endpoint {EP} would exceed its "
        "maximum: 8 in use + 1 requested > 8."
    )
    wait_for(lambda: status(c, first) == StatusEnum.RUNNING, 10, "RUNNING")
    grow = refused(ClientRequestException, lambda: update(c, first, max=6))
    assert grow.error_code == "common.01000030" and "3 in use + 6 requested > 8" in grow.error_msg
    assert update(c, first, max=4).status_code == 202  # lowering is never refused
    deploy(c, deploy_input("c", 1))  # room again


def test_update_refuses_a_changed_min_or_model_version(emulator: EmulatorThread) -> None:
    c = ep_client(emulator)
    iid = deploy(c)
    busy = refused(ClientRequestException, lambda: update(c, iid, name="n"))
    assert (busy.status_code, busy.error_code) == (400, "common.01000001")
    wait_for(lambda: status(c, iid) == StatusEnum.RUNNING, 10, "RUNNING")
    min_changed = refused(ClientRequestException, lambda: update(c, iid, min=2, max=2))
    assert (min_changed.status_code, min_changed.error_code) == (400, "common.01000001")
    assert "resource.min" in min_changed.error_msg and "cannot be changed" in min_changed.error_msg
    version = SourceRef(id="m-1", version_id="v-2")
    changed = refused(ClientRequestException, lambda: update(c, iid, source=version))
    assert "source.version_id" in changed.error_msg
    same = SourceRef(id="m-1", version_id="v-1")
    assert update(c, iid, source=same, min=1, max=2, description="d").status_code == 202
    assert show(c, iid).description == "d"


@pytest.mark.parametrize("case", sorted(INVALID_DEPLOYS))
def test_each_validation_answers_its_code_over_http(
    shared_emulator: EmulatorThread, case: str
) -> None:
    raw, parameter = INVALID_DEPLOYS[case]
    error = refused(ClientRequestException, lambda: deploy(ep_client(shared_emulator), raw))
    assert (error.status_code, error.error_code) == (400, "common.01000001")
    assert parameter in error.error_msg


def test_a_failing_source_reports_error_code_and_msg(emulator: EmulatorThread) -> None:
    c = ep_client(emulator)
    iid = deploy(c, deploy_input("bad", source="emulator-fail-1"))
    wait_for(lambda: status(c, iid) == StatusEnum.FAILED, 10, "FAILED")
    shown = show(c, iid)
    assert shown.error_code == "common.00000500" and "emulator-fail-1" in shown.error_msg
    deploy(c, deploy_input("fits", 8))  # a FAILED instance holds no capacity


def test_accounts_and_workspaces_see_only_their_own(emulator: EmulatorThread) -> None:
    mine = ep_client(emulator)
    iid = deploy(mine)
    stranger = ep_client(emulator, "other-id", "other-secret")
    for c, ws in ((stranger, WS), (mine, "ws-2")):
        missing = refused(ClientRequestException, lambda c=c, ws=ws: show(c, iid, ws))
        assert (missing.status_code, missing.error_code) == (404, "common.01000001")
        assert listing(c, ws).total == 0
        assert refused(
            ClientRequestException, lambda c=c, ws=ws: delete(c, iid, ws)
        ).status_code == (404)
    # Another account has no endpoint ep-1 in ws-1: its deploy is refused as not found.
    assert refused(ClientRequestException, lambda: deploy(stranger)).status_code == 404
    assert show(mine, iid).name == "llm"
    bad_ws = refused(ClientRequestException, lambda: listing(mine, "ws_1"))
    assert (bad_ws.status_code, bad_ws.error_code) == (400, "common.01000001")
    assert "workspace_id" in bad_ws.error_msg


def test_the_gateway_refuses_bad_signatures(emulator: EmulatorThread) -> None:
    wrong = ep_client(emulator, sk="not-the-secret")
    bad = refused(ClientRequestException, lambda: listing(wrong))
    assert (bad.status_code, bad.error_code) == (401, "APIGW.0301") and bad.request_id
    wrong_fabric = fabric_client(emulator, sk="not-the-secret")
    also = refused(
        ClientRequestException,
        lambda: wrong_fabric.show_endpoint(ShowEndpointRequest(workspace_id=WS, endpoint_id=EP)),
    )
    assert (also.status_code, also.error_code) == (401, "APIGW.0301")
    unknown = refused(ClientRequestException, lambda: listing(ep_client(emulator, "nobody")))
    assert unknown.status_code == 401
    calls = emulator.emulator.calls.query(cloud=CLOUD)
    assert [(c["operation"], c["status"], c["account"]) for c in calls] == [
        ("ListServicesInstances", 401, ""),
        ("ShowEndpoint", 401, ""),
        ("ListServicesInstances", 401, ""),
    ]


def test_the_host_names_the_region_or_another_product(emulator: EmulatorThread) -> None:
    base = f"{emulator.url}/v1/workspaces/{WS}"
    auth = {"X-Auth-Token": TOKEN}
    with httpx.Client(trust_env=False) as http:

        def post(host: str) -> httpx.Response:
            body = {
                "source": {"id": "m-1"},
                "name": "hosted",
                "endpoint_id": EP,
                "config": {
                    "model_instance_config": {"resource": {"min": 1, "max": 1, "spec_code": SPEC}}
                },
            }
            return http.post(
                f"{base}/services/instances", json=body, headers={**auth, "Host": host}
            )

        ours = post("fabric-ep.ap-southeast-3.myhuaweicloud.com")
        assert ours.status_code == 200 and len(ours.headers["X-Request-Id"]) == 32
        shown = http.get(f"{base}/services/instances/{ours.json()['id']}", headers=auth).json()
        assert "//fabric-ep.ap-southeast-3.myhuaweicloud.com/" in shown["url"]["address"]
        for host in ("fabric.cn-north-4.myhuaweicloud.com", "iam.cn-north-4.myhuaweicloud.com"):
            elsewhere = post(host)
            assert elsewhere.status_code == 404
            assert elsewhere.json()["error_code"] == "APIGW.0101"
        endpoint = f"{base}/endpoints/{EP}"
        ok = http.get(endpoint, headers={**auth, "Host": "fabric.cn-north-4.myhuaweicloud.com"})
        assert ok.status_code == 200 and ok.json()["reserved_resource"]["mu"]["max"] == 8
        wrong = http.get(
            endpoint, headers={**auth, "Host": "fabric-ep.cn-north-4.myhuaweicloud.com"}
        )
        assert wrong.status_code == 404 and wrong.json()["error_code"] == "APIGW.0101"
        # A missing instance: the documented 404, with advice in solution_msg.
        missing = http.get(f"{base}/services/instances/nope", headers=auth)
        assert missing.status_code == 404
        assert missing.json()["error_msg"] == "response status exception, code: 404"
        assert "nope" in missing.json()["solution_msg"]
        unsigned = http.get(f"{base}/services/instances")
        assert unsigned.status_code == 401
        deleted = http.delete(f"{base}/services/instances/{ours.json()['id']}", headers=auth)
        assert deleted.status_code == 202 and deleted.content == b""


def test_faults_answer_in_the_huawei_shape_and_the_call_log_names_each_operation(
    emulator: EmulatorThread,
) -> None:
    c, f = ep_client(emulator), fabric_client(emulator)
    iid = deploy(c)
    faults = emulator.emulator.faults
    op = "ShowServiceInstanceDetail"
    faults.add(FaultRule(kind="error", operation=op, cloud="huawei-modelarts", count=1))
    assert show(c, iid).id == iid  # another cloud's rule
    faults.add(
        FaultRule(
            kind="error",
            operation=op,
            cloud=CLOUD,
            count=1,
            status=503,
            code="common.00000500",
            message="internal error",
        )
    )
    down = refused(ServerResponseException, lambda: show(c, iid))
    assert (down.status_code, down.error_code, down.error_msg) == (
        503,
        "common.00000500",
        "internal error",
    )
    faults.add(FaultRule(kind="throttle", operation="ListServicesInstances", count=1, seconds=3))
    assert refused(ClientRequestException, lambda: listing(c)).status_code == 429
    listing(c)
    wait_for(lambda: status(c, iid) == StatusEnum.RUNNING, 10, "RUNNING")
    update(c, iid, max=3)
    f.show_endpoint(ShowEndpointRequest(workspace_id=WS, endpoint_id=EP))
    f.list_endpoints(ListEndpointsRequest(workspace_id=WS))
    wait_for(lambda: status(c, iid) == StatusEnum.RUNNING, 10, "RUNNING after the update")
    delete(c, iid)
    logged = [
        (x["operation"], x["status"], x["code"], x["target"], x["account"])
        for x in emulator.emulator.calls.query(cloud=CLOUD)
    ]
    shows = {("ShowServiceInstanceDetail", 200, "", iid, ACCOUNT)}
    assert [x for x in logged if x not in shows] == [
        ("DeployServiceInstance", 200, "", "llm", ACCOUNT),
        ("ShowServiceInstanceDetail", 503, "common.00000500", iid, ""),
        ("ListServicesInstances", 429, "APIGW.0308", "", ""),
        ("ListServicesInstances", 200, "", "", ACCOUNT),
        ("UpdateServiceInstance", 202, "", iid, ACCOUNT),
        ("ShowEndpoint", 200, "", EP, ACCOUNT),
        ("ListEndpoints", 200, "", "", ACCOUNT),
        ("DeleteServiceInstance", 202, "", iid, ACCOUNT),
    ]


def test_admin_endpoints_and_instances(emulator: EmulatorThread) -> None:
    c, f = ep_client(emulator), fabric_client(emulator)
    iid = deploy(c, deploy_input("a", 3))
    admin = f"{emulator.url}/_emulator/fabric"
    with httpx.Client(trust_env=False) as http:
        endpoints = http.get(f"{admin}/endpoints").json()
        assert [(e["id"], e["workspace_id"], e["in_use"]) for e in endpoints] == [(EP, WS, 3)]
        put = http.put(
            f"{admin}/endpoints/ep-2",
            json={"workspace": WS, "account": ACCOUNT, "spec_code": SPEC, "max": 2, "min": 1},
        )
        assert put.status_code == 200 and put.json()["reserved_resource"]["mu"]["max"] == 2
        shown = f.show_endpoint(ShowEndpointRequest(workspace_id=WS, endpoint_id="ep-2"))
        assert (shown.type, shown.status, shown.reserved_resource.mu.min) == (
            "inference",
            "RUNNING",
            1,
        )
        over = refused(
            ClientRequestException, lambda: deploy(c, deploy_input("b", 3, endpoint="ep-2"))
        )
        assert over.error_code == "common.01000030"

        frozen = {
            "workspace": WS,
            "account": ACCOUNT,
            "spec_code": SPEC,
            "max": 8,
            "status": "FROZEN",
        }
        assert http.put(f"{admin}/endpoints/{EP}", json=frozen).json()["in_use"] == 3
        not_running = refused(ClientRequestException, lambda: deploy(c, deploy_input("b", 1)))
        assert not_running.error_code == "common.01000001" and "FROZEN" in not_running.error_msg
        for bad in (
            {"spec_code": SPEC},  # no max
            {"spec_code": SPEC, "max": 1001},
            {"spec_code": SPEC, "max": 2, "min": 3},
            {"max": 2},  # no spec
            {"spec_code": SPEC, "max": 2, "status": "running"},
            {"spec_code": SPEC, "max": 2, "type": "INFERENCE"},
            {"spec_code": SPEC, "max": 2, "workspace": "ws/1"},
            {"spec_code": SPEC, "max": 2, "color": "red"},
        ):
            assert http.put(f"{admin}/endpoints/ep-3", json=bad).status_code == 400, bad
        assert (
            http.put(f"{admin}/endpoints/ep_3", json={"spec_code": SPEC, "max": 1}).status_code
            == 400
        )
        defaulted = http.put(f"{admin}/endpoints/ep-4", json={"spec_code": SPEC, "max": 1}).json()
        assert (defaulted["workspace_id"], defaulted["account"]) == ("default", ACCOUNT)

        instances = http.get(f"{admin}/instances", params={"account": ACCOUNT}).json()
        assert [(i["id"], i["workspace_id"], i["account"]) for i in instances] == [
            (iid, WS, ACCOUNT)
        ]
        assert http.get(f"{admin}/instances", params={"workspace": "ws-2"}).json() == []
        assert http.delete(f"{admin}/instances").status_code == 200
    assert listing(c).total == 0
