"""FabricClient (DataArts Fabric service instances and endpoints) against respx: the two
hosts, paths, methods, queries (offset is a record offset), bodies, 202 answers, signatures
checked with huaweicloudsdkcore's own Signer, IAM-token auth, the error table (the same code
read by its status, the capacity refusal, the gateway's numeric 403), retry safety, and an
authoritative full listing under concurrent change.

Then the official SDKs as a request-shape oracle: `huaweicloudsdkdataartsfabricep` and
`huaweicloudsdkdataartsfabric` clients and ours send the same operation to one local HTTP
server, which compares method, path, query, JSON body and header names; the SDK also parses
the canned answers and error bodies the way our models and table do."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import respx
from pydantic import SecretStr

from cloudinfer.clouds import errors
from cloudinfer.clouds.huawei.fabric import (
    EndpointCapacityExceeded,
    FabricClient,
    FabricEndpoint,
    InstanceUrl,
    ListingInconsistent,
    ServiceInstance,
    default_endpoint,
    endpoints_endpoint,
    instances_endpoint,
)
from cloudinfer.clouds.huawei.fabric.client import LIST_PASSES
from cloudinfer.clouds.huawei.fabric.models import epoch_ms
from cloudinfer.clouds.huawei.fabric_errors import (
    CAPACITY_EXCEEDED,
    TABLE,
    capacity_exceeded,
)
from cloudinfer.clouds.huawei.requests import USER_AGENT
from cloudinfer.clouds.retry import RetryPolicy
from cloudinfer.credentials import Credentials
from tests.unit.clouds.huawei import sdk

with sdk.sdk_home():  # importing the SDK writes $HOME/.huaweicloud
    from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
    from huaweicloudsdkcore.http.http_config import HttpConfig
    from huaweicloudsdkdataartsfabric.v1 import (
        DataArtsFabricClient,
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
        ShowServiceInstanceDetailRequest,
        SourceRef,
        UpdateModelServiceInstanceConfig,
        UpdateServiceInstanceConfig,
        UpdateServiceInstanceInput,
        UpdateServiceInstanceRequest,
    )

AK, SK, PID = "AK-ID-0001", "SK-SECRET-VALUE-0001", "0123456789abcdef0123456789abcdef"
STS = "STS-TOKEN-VALUE-0001"
IAM = "IAM-TOKEN-VALUE-0001"
WS = "ws-0b5633ba"
IID = "5e8f0a3c-7d1b-4b6e-9c2a-1f3e5d7b9a0c"
EID = "b935d0ef-f4eb-4b95-aff1-9d33ae9f57b6"
BASE = "http://127.0.0.1:8443"
INSTANCES = f"{BASE}/v1/workspaces/{WS}/services/instances"
ENDPOINTS = f"{BASE}/v1/workspaces/{WS}/endpoints"
KEYS = Credentials(access_key_id=AK, access_key_secret=SecretStr(SK))
TEMPORARY = Credentials(
    access_key_id=AK, access_key_secret=SecretStr(SK), security_token=SecretStr(STS)
)
TOKEN = Credentials(iam_token=SecretStr(IAM))
FAST = RetryPolicy(attempts=3, base=0.001, cap=0.002)

# Seed 001's example request body.
DEPLOY_BODY: dict[str, Any] = {
    "source": {
        "id": "0b5633ba2b904511ad514346f4d23d4b",
        "version_id": "0b5633ba2b904511ad514346f4d23d4b",
    },
    "name": "serviceInstanceName1",
    "description": "description · [cloudinfer-uid: 1234 ns: default]",
    "endpoint_id": EID,
    "config": {"model_instance_config": {"resource": {"min": 1, "max": 1000, "spec_code": "mu"}}},
}

# A ShowServiceInstanceDetail answer (SDK ShowServiceInstanceDetailResponse's fields) plus a
# field it does not list.
DETAIL: dict[str, Any] = {
    "id": IID,
    "name": "serviceInstanceName1",
    "description": "description",
    "endpoint_id": EID,
    "source": {"id": "m-1", "version_id": "v-1"},
    "status": "RUNNING",
    "type": "LLM_MODEL",
    "visibility": "PRIVATE",
    "create_time": "2023-05-30T12:24:30.401Z",
    "update_time": "2023-05-30T12:25:30.401Z",
    "duration": 60,
    "create_user": {"domain_name": "d", "user_name": "u"},
    "update_user": {"domain_name": "d", "user_name": "u"},
    "url": {"name": "chat", "address": "https://fabric-ep.example/v1/chat", "type": "openai"},
    "config": {"model_instance_config": {"resource": {"min": 1, "max": 4, "spec_code": "mu"}}},
    "error_code": "",
    "error_msg": "",
    "a_field_added_later": {"nested": [1, 2]},
}

# A ShowEndpoint answer for an inference endpoint (dataartsfabric_03_0013's example `mu`).
ENDPOINT: dict[str, Any] = {
    "id": EID,
    "name": "llama",
    "type": "inference",
    "status": "RUNNING",
    "description": "",
    "create_time": "2023-05-30T12:24:30.401Z",
    "update_time": "2023-05-30T12:24:30.401Z",
    "reserved_resource": {"mu": {"spec_code": "mu.llama3.8b", "min": 0, "max": 8}},
    "urls": [],
    "visibility": "PRIVATE",
}


def make(creds: Credentials = KEYS, **kwargs: Any) -> FabricClient:
    kwargs.setdefault("policy", FAST)
    kwargs.setdefault("endpoint", BASE)
    return FabricClient("cn-north-4", kwargs.pop("project_id", PID), creds, **kwargs)


def item(n: int, **extra: Any) -> dict[str, Any]:
    return {"id": f"id-{n:03d}", "name": f"inst-{n}", "status": "RUNNING", **extra}


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content)


def query_of(request: httpx.Request) -> list[tuple[str, str]]:
    return parse_qsl(request.url.query.decode(), keep_blank_values=True)


def signed_names(authorization: str) -> str:
    return authorization.split("SignedHeaders=")[1].split(",")[0]


# -- the signature, checked by the official SDK's signer ----------------------------------

# Added on the wire by httpx or requests; the SDK never signs them (reference §2, item 4).
TRANSPORT_HEADERS = {"accept", "accept-encoding", "connection", "content-length"}
ADDED_BY_SDK = {"authorization", "x-sdk-date", "x-project-id", "x-security-token"}


def sdk_authorization(
    method: str,
    target: str,
    headers: dict[str, str],
    body: bytes | None,
    creds: Credentials,
    project_id: str | None = PID,
) -> tuple[str, str]:
    """Re-sign a request as it was sent with huaweicloudsdkcore (BasicCredentials.sign_request
    and its Signer, reusing the request's X-Sdk-Date): (Authorization, uri)."""
    assert creds.access_key_id and creds.access_key_secret
    own = {k: v for k, v in headers.items() if k.lower() not in TRANSPORT_HEADERS | ADDED_BY_SDK}
    token = creds.security_token.get_secret_value() if creds.security_token else None
    path, _, query = target.partition("?")
    signed, uri = sdk.sdk_sign(
        method,
        headers["host"],
        path,
        parse_qsl(query, keep_blank_values=True),
        own,
        body or None,
        sdk.credentials(
            creds.access_key_id, creds.access_key_secret.get_secret_value(), project_id, token
        ),
        date=headers["x-sdk-date"],
    )
    return signed["Authorization"], uri


def assert_signed(
    request: httpx.Request, creds: Credentials = KEYS, project_id: str | None = PID
) -> None:
    target = request.url.raw_path.decode()
    headers = {k.lower(): v for k, v in request.headers.items()}
    authorization, uri = sdk_authorization(
        request.method, target, headers, request.content, creds, project_id
    )
    assert headers["authorization"] == authorization
    assert target == uri  # the query on the wire is the canonical one the gateway recomputes
    if project_id:
        assert headers["x-project-id"] == project_id
    else:
        assert "x-project-id" not in headers
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == USER_AGENT
    assert "x-auth-token" not in headers


# -- hosts -------------------------------------------------------------------------------


def test_default_endpoints() -> None:
    assert instances_endpoint("cn-north-4") == "https://fabric-ep.cn-north-4.myhuaweicloud.com"
    assert endpoints_endpoint("cn-southwest-2") == (
        "https://fabric.cn-southwest-2.myhuaweicloud.com"
    )
    assert default_endpoint("cn-north-4") == instances_endpoint("cn-north-4")


async def test_each_api_goes_to_its_host_and_is_signed_for_it() -> None:
    client = FabricClient("cn-north-4", PID, KEYS, policy=FAST)
    ep = f"https://fabric-ep.cn-north-4.myhuaweicloud.com/v1/workspaces/{WS}/services/instances"
    fabric = f"https://fabric.cn-north-4.myhuaweicloud.com/v1/workspaces/{WS}/endpoints/{EID}"
    async with respx.mock() as router:
        show = router.get(f"{ep}/{IID}").respond(200, json=DETAIL)
        endpoint = router.get(fabric).respond(200, json=ENDPOINT)
        await client.show_instance(WS, IID)
        await client.show_endpoint(WS, EID)
    assert show.calls.last.request.headers["host"] == "fabric-ep.cn-north-4.myhuaweicloud.com"
    assert endpoint.calls.last.request.headers["host"] == "fabric.cn-north-4.myhuaweicloud.com"
    assert_signed(show.calls.last.request)
    assert_signed(endpoint.calls.last.request)
    await client.aclose()


async def test_an_endpoint_given_serves_both_path_sets() -> None:
    client = make()
    assert client.instances.base_url == client.endpoints.base_url == BASE
    async with respx.mock() as router:
        router.get(f"{INSTANCES}/{IID}").respond(200, json=DETAIL)
        router.get(f"{ENDPOINTS}/{EID}").respond(200, json=ENDPOINT)
        await client.show_instance(WS, IID)
        await client.show_endpoint(WS, EID)
    await client.aclose()
    await client.aclose()  # one HTTP client for both hosts; closing twice is harmless


async def test_without_a_project_id_no_x_project_id() -> None:
    client = make(project_id=None)
    async with respx.mock() as router:
        route = router.get(f"{INSTANCES}/{IID}").respond(200, json=DETAIL)
        await client.show_instance(WS, IID)
    request = route.calls.last.request
    assert_signed(request, project_id=None)
    assert signed_names(request.headers["authorization"]) == (
        "content-type;host;user-agent;x-sdk-date"
    )
    await client.aclose()


# -- service instances -------------------------------------------------------------------


async def test_deploy_instance() -> None:
    client = make()
    async with respx.mock() as router:
        route = router.post(INSTANCES).respond(200, json={"id": IID})
        assert await client.deploy_instance(WS, DEPLOY_BODY) == IID
    request = route.calls.last.request
    assert (
        request.method == "POST" and request.url.path == f"/v1/workspaces/{WS}/services/instances"
    )
    assert body_of(request) == DEPLOY_BODY and request.url.query == b""
    assert_signed(request)
    assert signed_names(request.headers["authorization"]) == (
        "content-type;host;user-agent;x-project-id;x-sdk-date"
    )
    await client.aclose()


async def test_deploy_without_an_id_may_have_committed() -> None:
    client = make()
    async with respx.mock() as router:
        route = router.post(INSTANCES).respond(200, json={})
        with pytest.raises(errors.TransportError) as lost:
            await client.deploy_instance(WS, DEPLOY_BODY)
    assert lost.value.maybe_committed and route.call_count == 1
    await client.aclose()


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("lost"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("connection reset"),
    ],
)
async def test_a_deploy_that_may_have_been_sent_is_never_repeated(failure: Exception) -> None:
    client = make()
    async with respx.mock() as router:
        route = router.post(INSTANCES).mock(
            side_effect=[failure, httpx.Response(200, json={"id": IID})]
        )
        with pytest.raises(errors.TransportError) as lost:
            await client.deploy_instance(WS, DEPLOY_BODY)
    assert lost.value.maybe_committed and route.call_count == 1
    assert lost.value.operation == "DeployServiceInstance" and lost.value.cloud == "huawei-fabric"
    await client.aclose()


async def test_a_deploy_refused_or_failed_by_the_server_is_not_repeated() -> None:
    client = make()
    async with respx.mock() as router:
        route = router.post(INSTANCES).mock(
            side_effect=[
                httpx.Response(500, json={"error_code": "common.00000500", "error_msg": "x"}),
                httpx.Response(408, json={"error_code": "common.00000408", "error_msg": "x"}),
                httpx.Response(200, json={"id": IID}),
            ]
        )
        with pytest.raises(errors.ServerError):
            await client.deploy_instance(WS, DEPLOY_BODY)
        with pytest.raises(errors.ServerError):
            await client.deploy_instance(WS, DEPLOY_BODY)
        assert route.call_count == 2
    await client.aclose()


async def test_a_deploy_that_never_connected_is_retried() -> None:
    client = make()
    async with respx.mock() as router:
        route = router.post(INSTANCES).mock(
            side_effect=[httpx.ConnectError("refused"), httpx.Response(200, json={"id": IID})]
        )
        assert await client.deploy_instance(WS, DEPLOY_BODY) == IID
    assert route.call_count == 2
    await client.aclose()


async def test_show_instance_parses_the_detail() -> None:
    client = make()
    async with respx.mock() as router:
        route = router.get(f"{INSTANCES}/{IID}").respond(200, json=DETAIL)
        instance = await client.show_instance(WS, IID)
    request = route.calls.last.request
    assert request.content == b"" and request.url.query == b""
    assert_signed(request)
    assert instance == ServiceInstance(
        id=IID,
        name="serviceInstanceName1",
        description="description",
        endpoint_id=EID,
        source_id="m-1",
        version_id="v-1",
        status="RUNNING",
        type="LLM_MODEL",
        visibility="PRIVATE",
        create_time="2023-05-30T12:24:30.401Z",
        update_time="2023-05-30T12:25:30.401Z",
        duration=60,
        urls=(InstanceUrl("chat", "https://fabric-ep.example/v1/chat", "openai"),),
        resource_min=1,
        resource_max=4,
        spec_code="mu",
    )
    assert instance.url_address == "https://fabric-ep.example/v1/chat"
    assert instance.url_type == "openai" and not instance.transitional
    assert instance.create_time_ms == 1685449470401
    assert instance.update_time_ms == 1685449530401 == instance.changed_at
    await client.aclose()


async def test_ids_are_one_quoted_path_segment() -> None:
    client = make()
    async with respx.mock() as router:
        route = router.route().respond(200, json={"id": "x"})
        await client.show_instance("w s", "a/b c")
        await client.show_endpoint("w s", "e/1")
    paths = [c.request.url.raw_path for c in route.calls]
    assert paths == [
        b"/v1/workspaces/w%20s/services/instances/a%2Fb%20c",
        b"/v1/workspaces/w%20s/endpoints/e%2F1",
    ]
    for bad in ("", "  "):
        with pytest.raises(ValueError):
            await client.show_instance(WS, bad)
        with pytest.raises(ValueError):
            await client.delete_instance(WS, bad)
        with pytest.raises(ValueError):
            await client.deploy_instance(bad, DEPLOY_BODY)
        with pytest.raises(ValueError):
            await client.show_endpoint(WS, bad)
    assert route.call_count == 2  # nothing sent for the refused ids
    await client.aclose()


async def test_list_instances_record_offset_and_filters() -> None:
    client = make()
    async with respx.mock() as router:
        route = router.get(INSTANCES).respond(
            200, json={"total": 7, "service_instances": [item(4), item(5)]}
        )
        page = await client.list_instances(
            WS,
            offset=4,
            limit=2,
            sort_by="CREATE_TIME",
            order_by="DESC",
            endpoint_id=EID,
            name="a b/é",
            visibility="",  # empty filters are left out
        )
    request = route.calls.last.request
    assert dict(query_of(request)) == {
        "offset": "4",  # the fifth record, not the fifth page
        "limit": "2",
        "sort_by": "CREATE_TIME",
        "order_by": "DESC",
        "endpoint_id": EID,
        "name": "a b/é",
    }
    # Sent exactly as signed: sorted, %20 for a space, %2F for a slash.
    assert (
        request.url.query
        == (
            f"endpoint_id={EID}&limit=2&name=a%20b%2F%C3%A9&offset=4&order_by=DESC"
            "&sort_by=CREATE_TIME"
        ).encode()
    )
    assert_signed(request)
    assert [i.id for i in page.instances] == ["id-004", "id-005"]
    assert (page.offset, page.limit, page.total) == (4, 2, 7)
    with pytest.raises(TypeError, match="endpointid"):
        await client.list_instances(WS, endpointid="typo")
    for offset, limit in ((-1, 10), (0, 0), (0, 101), (1_000_000_001, 10)):
        with pytest.raises(ValueError):
            await client.list_instances(WS, offset=offset, limit=limit)
    assert route.call_count == 1
    await client.aclose()


async def test_list_defaults() -> None:
    client = make()
    async with respx.mock() as router:
        route = router.get(INSTANCES).respond(200, json={})
        page = await client.list_instances(WS)
    assert dict(query_of(route.calls.last.request)) == {"offset": "0", "limit": "100"}
    assert page.instances == [] and page.total is None
    await client.aclose()


# -- the full listing --------------------------------------------------------------------

Hook = Callable[[list[dict[str, Any]]], None]


def lister(
    store: list[dict[str, Any]], hooks: dict[int, Hook] | None = None, total: bool = True
) -> Callable[[httpx.Request], httpx.Response]:
    """ListServicesInstances over `store` (oldest first), `offset` a record offset; before
    answering call n, `hooks[n]` may change the store (instances deployed or deleted)."""
    calls = 0

    def answer(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if hooks and calls in hooks:
            hooks[calls](store)
        query = dict(query_of(request))
        offset, limit = int(query["offset"]), int(query["limit"])
        body: dict[str, Any] = {"service_instances": store[offset : offset + limit]}
        if total:
            body["total"] = len(store)
        return httpx.Response(200, json=body)

    return answer


def offsets(route: respx.Route) -> list[int]:
    return [int(dict(query_of(c.request))["offset"]) for c in route.calls]


@pytest.mark.parametrize(
    ("count", "limit", "expected"),
    [
        (0, 3, [0]),
        (3, 3, [0]),
        (5, 3, [0, 2]),  # each page starts on the previous page's last record
        (6, 3, [0, 2, 4]),
        (7, 3, [0, 2, 4]),
        (250, 100, [0, 99, 198]),
    ],
)
async def test_list_all_instances_pages_by_record_offset(
    count: int, limit: int, expected: list[int]
) -> None:
    client = make()
    everything = [item(n) for n in range(count)]
    async with respx.mock() as router:
        route = router.get(INSTANCES).mock(side_effect=lister(everything))
        instances, calls = await client.list_all_instances(WS, limit=limit, endpoint_id=EID)
    assert [i.id for i in instances] == [i["id"] for i in everything]
    assert calls == route.call_count == len(expected) and offsets(route) == expected
    first = dict(query_of(route.calls[0].request))
    assert first["sort_by"] == "CREATE_TIME" and first["order_by"] == "ASC"
    assert first["endpoint_id"] == EID and first["limit"] == str(limit)
    await client.aclose()


async def test_list_all_default_page_size_is_the_largest() -> None:
    client = make()
    async with respx.mock() as router:
        route = router.get(INSTANCES).mock(side_effect=lister([item(0)]))
        await client.list_all_instances(WS)
    assert dict(query_of(route.calls[0].request))["limit"] == "100"
    await client.aclose()


def delete(*ids: int) -> Hook:
    def hook(store: list[dict[str, Any]]) -> None:
        store[:] = [i for i in store if i["id"] not in {f"id-{n:03d}" for n in ids}]

    return hook


def deploy(*ids: int) -> Hook:
    def hook(store: list[dict[str, Any]]) -> None:
        store.extend(item(n) for n in ids)

    return hook


@pytest.mark.parametrize(
    ("hooks", "deleted", "expected"),
    [
        # Record 1 (read) deleted after the first page: the rest moves up one, so a read at
        # offset 3 would skip record 4. The page there starts on an unread record: step back.
        ({2: delete(1)}, {1}, [0, 3, 0, 3, 6]),
        # The record the next page should start on is itself deleted.
        ({2: delete(3)}, {3}, [0, 3, 0, 3, 6]),
        # More deleted than a page holds: the step back doubles.
        ({2: delete(0, 1, 2, 3, 4)}, set(range(5)), [0, 3, 0, 3]),
        # Deleted ahead of the read: nothing moves under it.
        ({2: delete(8)}, {8}, [0, 3, 6]),
        # Deployed while the listing ran: added at the end (oldest first), read in turn.
        ({2: deploy(10, 11)}, set(), [0, 3, 6, 9]),
    ],
)
async def test_list_all_is_complete_while_instances_come_and_go(
    hooks: dict[int, Hook], deleted: set[int], expected: list[int]
) -> None:
    client = make()
    store = [item(n) for n in range(10)]
    original = [i["id"] for i in store]
    async with respx.mock() as router:
        route = router.get(INSTANCES).mock(side_effect=lister(store, hooks))
        instances, calls = await client.list_all_instances(WS, limit=4)
    ids = [i.id for i in instances]
    # Everything that existed throughout is there, once each, oldest first.
    survivors = [i for n, i in enumerate(original) if n not in deleted]
    assert [i for i in ids if i in survivors] == survivors
    assert len(ids) == len(set(ids))
    assert set(ids) >= {i["id"] for i in store}  # what is there now, new ones included
    assert calls == route.call_count and offsets(route) == expected
    await client.aclose()


async def test_list_all_steps_back_further_until_a_page_starts_on_a_read_record() -> None:
    client = make()
    store = [item(n) for n in range(20)]
    async with respx.mock() as router:
        # Eight read records deleted before the fourth page: everything moved up by eight.
        route = router.get(INSTANCES).mock(side_effect=lister(store, {4: delete(*range(8))}))
        instances, calls = await client.list_all_instances(WS, limit=4)
    assert [i.id for i in instances] == [f"id-{n:03d}" for n in range(20)]
    # 9 and 6 start on unread records (17, 14); the step back doubles to 0.
    assert offsets(route) == [0, 3, 6, 9, 6, 0, 3, 6, 9] and calls == 9
    await client.aclose()


async def test_list_all_raises_when_offset_is_ignored() -> None:
    """A server that reads `offset` as something else (or ignores it) answers the first page
    again and again: never taken for a complete listing."""
    client = make()
    async with respx.mock() as router:
        route = router.get(INSTANCES).respond(
            200, json={"total": 10, "service_instances": [item(n) for n in range(4)]}
        )
        with pytest.raises(ListingInconsistent) as raised:
            await client.list_all_instances(WS, limit=4)
    assert route.call_count == 3 * LIST_PASSES  # offsets 0, 3, 6 per attempt
    assert "4 instances read, total says 10" in str(raised.value)
    assert raised.value.transient and not raised.value.terminal
    assert isinstance(raised.value, errors.ServerError)
    await client.aclose()


async def test_list_all_raises_without_a_total() -> None:
    client = make()
    async with respx.mock() as router:
        route = router.get(INSTANCES).mock(side_effect=lister([item(0)], total=False))
        with pytest.raises(ListingInconsistent, match="without total"):
            await client.list_all_instances(WS)
    assert route.call_count == LIST_PASSES
    await client.aclose()


async def test_list_all_starts_again_after_a_contradiction() -> None:
    client = make()
    page = [item(n) for n in range(4)]
    answers = [
        # A short page before `total`: the server's count and its records disagree.
        httpx.Response(200, json={"total": 6, "service_instances": page[:2]}),
        # A record read before shows up after newer ones: the order is not stable.
        httpx.Response(200, json={"total": 4, "service_instances": [page[1], page[0], page[1]]}),
        httpx.Response(200, json={"total": 4, "service_instances": page}),
    ]
    async with respx.mock() as router:
        route = router.get(INSTANCES).mock(side_effect=answers)
        instances, calls = await client.list_all_instances(WS, limit=4)
    assert [i.id for i in instances] == [i["id"] for i in page]
    assert calls == route.call_count == 3
    with pytest.raises(ValueError):
        await client.list_all_instances(WS, limit=1)  # no page could start on a read record
    with pytest.raises(TypeError):
        await client.list_all_instances(WS, endpointid="typo")
    await client.aclose()


async def test_list_all_errors_propagate() -> None:
    client = make(policy=RetryPolicy(attempts=1))
    async with respx.mock() as router:
        router.get(INSTANCES).respond(
            401, json={"error_code": "APIG.1002", "error_msg": "Incorrect token"}
        )
        with pytest.raises(errors.AuthFailed):
            await client.list_all_instances(WS)
    await client.aclose()


# -- update, delete ----------------------------------------------------------------------


async def test_update_instance() -> None:
    client = make()
    async with respx.mock() as router:
        route = router.put(f"{INSTANCES}/{IID}").respond(
            202, json={"id": IID}, headers={"X-request-id": "r-1"}
        )
        await client.update_instance(
            WS,
            IID,
            name="new-name",
            description="d",
            resource_min=1,
            resource_max=6,
            source={"id": "m-1", "version_id": "v-1"},
        )
        request = route.calls.last.request
        assert request.method == "PUT"
        assert body_of(request) == {
            "source": {"id": "m-1", "version_id": "v-1"},
            "name": "new-name",
            "description": "d",
            # The SDK's BaseDemand: min and max both, no spec_code.
            "config": {"model_instance_config": {"resource": {"min": 1, "max": 6}}},
        }
        assert_signed(request)
        await client.update_instance(WS, IID, description="")  # an empty description is sent
        assert body_of(route.calls.last.request) == {"description": ""}
        with pytest.raises(ValueError, match="together"):
            await client.update_instance(WS, IID, resource_max=6)
        with pytest.raises(ValueError, match="together"):
            await client.update_instance(WS, IID, resource_min=1)
        with pytest.raises(ValueError, match="nothing"):
            await client.update_instance(WS, IID)
        assert route.call_count == 2
    await client.aclose()


async def test_delete_instance_is_accepted_with_202() -> None:
    client = make()
    async with respx.mock() as router:
        route = router.delete(f"{INSTANCES}/{IID}").respond(202)
        await client.delete_instance(WS, IID)
    request = route.calls.last.request
    assert request.content == b"" and request.url.query == b""
    assert_signed(request)
    await client.aclose()


# -- endpoints ---------------------------------------------------------------------------


async def test_show_endpoint_reads_the_capacity() -> None:
    client = make()
    async with respx.mock() as router:
        route = router.get(f"{ENDPOINTS}/{EID}").respond(200, json=ENDPOINT)
        endpoint = await client.show_endpoint(WS, EID)
        await client.show_endpoint(WS, EID, version="CURRENT")
    assert endpoint == FabricEndpoint(
        id=EID,
        name="llama",
        type="inference",
        status="RUNNING",
        mu_spec_code="mu.llama3.8b",
        mu_min=0,
        mu_max=8,
    )
    first, second = (c.request for c in route.calls)
    assert first.url.query == b"" and second.url.query == b"version=CURRENT"
    assert_signed(first)
    assert_signed(second)
    await client.aclose()


async def test_list_endpoints() -> None:
    client = make()
    async with respx.mock() as router:
        route = router.get(ENDPOINTS).respond(200, json={"total": 1, "endpoints": [ENDPOINT]})
        page = await client.list_endpoints(WS, offset=10, limit=5, type="inference", name="")
    assert dict(query_of(route.calls.last.request)) == {
        "offset": "10",
        "limit": "5",
        "type": "inference",
    }
    assert_signed(route.calls.last.request)
    assert page.total == 1 and [e.mu_max for e in page.endpoints] == [8]
    with pytest.raises(TypeError):
        await client.list_endpoints(WS, workspace="x")
    await client.aclose()


# -- authentication ----------------------------------------------------------------------


async def test_temporary_keys_sign_the_security_token() -> None:
    client = make(TEMPORARY)
    async with respx.mock() as router:
        route = router.get(INSTANCES).respond(200, json={"total": 0, "service_instances": []})
        await client.list_instances(WS)
    request = route.calls.last.request
    assert request.headers["x-security-token"] == STS
    assert_signed(request, TEMPORARY)
    assert "x-security-token" in signed_names(request.headers["authorization"])
    await client.aclose()


async def test_iam_token_is_sent_as_x_auth_token() -> None:
    client = make(TOKEN)
    async with respx.mock() as router:
        deploy_route = router.post(INSTANCES).respond(200, json={"id": IID})
        endpoint_route = router.get(f"{ENDPOINTS}/{EID}").respond(200, json=ENDPOINT)
        await client.deploy_instance(WS, DEPLOY_BODY)
        await client.show_endpoint(WS, EID)
    for request in (deploy_route.calls.last.request, endpoint_route.calls.last.request):
        assert request.headers["x-auth-token"] == IAM
        assert "authorization" not in request.headers and "x-sdk-date" not in request.headers
        assert request.headers["x-project-id"] == PID
        assert request.headers["content-type"] == "application/json"
    assert body_of(deploy_route.calls.last.request) == DEPLOY_BODY
    await client.aclose()


async def test_rotated_credentials_apply_to_the_next_request() -> None:
    client = make(TOKEN)
    async with respx.mock() as router:
        route = router.get(f"{INSTANCES}/{IID}").respond(200, json=DETAIL)
        await client.show_instance(WS, IID)
        client.set_credentials(KEYS)
        await client.show_instance(WS, IID)
    first, second = (c.request for c in route.calls)
    assert "x-auth-token" in first.headers and "authorization" not in first.headers
    assert_signed(second)
    await client.aclose()


async def test_secrets_stay_out_of_reprs_and_errors() -> None:
    for creds in (KEYS, TEMPORARY, TOKEN):
        client = make(creds)
        text = repr(client) + repr(creds)
        for secret in (SK, STS, IAM):
            assert secret not in text
        async with respx.mock() as router:
            router.get(f"{INSTANCES}/{IID}").respond(
                401, json={"error_code": "APIGW.0301", "error_msg": "Incorrect IAM authentication"}
            )
            with pytest.raises(errors.AuthFailed) as refused:
                await client.show_instance(WS, IID)
        shown = str(refused.value) + repr(refused.value) + repr(vars(refused.value))
        for secret in (SK, STS, IAM):
            assert secret not in shown
        await client.aclose()


# -- errors ------------------------------------------------------------------------------

# Seed 001's example error answers.
SEED_400 = {
    "error_code": "common.01000001",
    "error_msg": "failed to read http request, please check your input, code: 400, reason: "
    "Type mismatch., cause: TypeMismatchException",
}
SEED_401 = {"error_code": "APIG.1002", "error_msg": "Incorrect token or token resolution failed"}
SEED_403 = {
    "error": {
        "code": "403",
        "message": "X-Auth-Token is invalid in the request",
        "title": "Forbidden",
    },
    "error_code": 403,
    "error_msg": "X-Auth-Token is invalid in the request",
    "title": "Forbidden",
}
SEED_404 = {"error_code": "common.01000001", "error_msg": "response status exception, code: 404"}
SEED_408 = {"error_code": "common.00000408", "error_msg": "timeout exception occurred"}
SEED_500 = {"error_code": "common.00000500", "error_msg": "internal error"}
CAPACITY = {
    "error_code": CAPACITY_EXCEEDED,
    "error_msg": "endpoint b935d0ef has 2 of its 8 units free; max 4 asked",
    "solution_msg": "lower max, or shrink the endpoint's other instances",
}


@pytest.mark.parametrize(
    ("status", "body", "kind", "code"),
    [
        (400, SEED_400, errors.Invalid, "common.01000001"),
        (404, SEED_404, errors.NotFound, "common.01000001"),  # the same code: status decides
        (400, CAPACITY, EndpointCapacityExceeded, CAPACITY_EXCEEDED),
        (408, SEED_408, errors.ServerError, "common.00000408"),
        (500, SEED_500, errors.ServerError, "common.00000500"),
        (401, SEED_401, errors.AuthFailed, "APIG.1002"),
        (401, {"error_code": "APIGW.0301", "error_msg": "bad signature"}, errors.AuthFailed, ""),
        (401, {"error_code": "APIG.0307", "error_msg": "token expired"}, errors.AuthFailed, ""),
        (403, SEED_403, errors.Forbidden, "403"),  # the gateway's numeric code
        (429, {"error_code": "APIGW.0308", "error_msg": "throttled"}, errors.Throttled, ""),
        # The generic code at a status the table does not list: the status decides.
        (409, {"error_code": "common.01000001", "error_msg": "x"}, errors.Conflict, ""),
        (422, {"error_code": "common.01000001", "error_msg": "x"}, errors.Unrecognised, ""),
        (404, {"error_code": "common.01000030", "error_msg": "x"}, errors.Unrecognised, ""),
        # A gateway 404 (no such API) is not "the instance is gone".
        (404, {"error_code": "APIG.0101", "error_msg": "no API"}, errors.Unrecognised, ""),
        (400, {"error_code": "common.09999999", "error_msg": "x"}, errors.Unrecognised, ""),
        (404, None, errors.ServerError, ""),  # no code: a proxy, not Fabric
    ],
)
async def test_errors_are_classified(
    status: int, body: Any, kind: type[errors.CloudError], code: str
) -> None:
    """`code` "": the body's own code, as sent."""
    client = make(policy=RetryPolicy(attempts=1))
    async with respx.mock() as router:
        router.put(f"{INSTANCES}/{IID}").respond(
            status, json=body, headers={"X-Request-Id": "req-42"}
        )
        with pytest.raises(errors.CloudError) as raised:
            await client.update_instance(WS, IID, description="d")
    error = raised.value
    assert type(error) is kind
    assert error.code == (code or (str(body["error_code"]) if body else ""))
    assert error.status == status
    assert error.cloud == "huawei-fabric" and error.operation == "UpdateServiceInstance"
    if body:
        assert error.request_id == "req-42" and error.message == body["error_msg"]
    await client.aclose()


async def test_capacity_refusal_is_recognisable_and_deploy_is_not_repeated() -> None:
    client = make()
    async with respx.mock() as router:
        route = router.post(INSTANCES).respond(400, json=CAPACITY)
        with pytest.raises(errors.Invalid) as refused:
            await client.deploy_instance(WS, DEPLOY_BODY)
    error = refused.value
    assert route.call_count == 1
    assert isinstance(error, EndpointCapacityExceeded) and capacity_exceeded(error)
    # An Invalid (refused as it stands) that the reconciler reads as a Waiting: it checks
    # Waiting first and shows `reason` as the condition reason.
    assert isinstance(error, errors.Waiting) and error.reason == "EndpointCapacityExceeded"
    assert error.code == "common.01000030" and error.status == 400
    assert error.message == CAPACITY["error_msg"]
    assert not error.transient
    assert not capacity_exceeded(errors.Invalid("x", code="common.01000001"))
    # The same code with Retry-After is the gateway asking to wait: throttling wins.
    throttled = TABLE.classify(400, CAPACITY_EXCEEDED, "m", 5.0)
    assert type(throttled) is errors.Throttled
    await client.aclose()


async def test_reads_are_retried_on_server_errors_and_dropped_connections() -> None:
    client = make()
    async with respx.mock() as router:
        route = router.get(f"{INSTANCES}/{IID}").mock(
            side_effect=[
                httpx.Response(503, text="<html>bad gateway</html>"),
                httpx.ReadTimeout("lost"),
                httpx.Response(200, json=DETAIL),
            ]
        )
        instance = await client.show_instance(WS, IID)
    assert instance.status == "RUNNING" and route.call_count == 3
    # Every attempt is signed afresh (a new X-Sdk-Date: the gateway's 15-minute window).
    assert all("x-sdk-date" in c.request.headers for c in route.calls)
    async with respx.mock() as router:
        update = router.put(f"{INSTANCES}/{IID}").mock(
            side_effect=[httpx.RemoteProtocolError("dropped"), httpx.Response(202, json={})]
        )
        delete_route = router.delete(f"{INSTANCES}/{IID}").mock(
            side_effect=[httpx.Response(500, json=SEED_500), httpx.Response(202)]
        )
        await client.update_instance(WS, IID, description="d")  # idempotent: repeated
        await client.delete_instance(WS, IID)
    assert update.call_count == 2 and delete_route.call_count == 2
    await client.aclose()


async def test_throttling_honours_retry_after() -> None:
    client = make()
    async with respx.mock() as router:
        route = router.get(INSTANCES).respond(
            429,
            json={"error_code": "APIGW.0308", "error_msg": "throttled"},
            headers={"Retry-After": "60"},
        )
        with pytest.raises(errors.Throttled) as throttled:
            await client.list_instances(WS)
    assert throttled.value.retry_after == 60 and route.call_count == 1
    await client.aclose()


# -- models ------------------------------------------------------------------------------


def test_models_tolerate_missing_unknown_and_mistyped_fields() -> None:
    listed = ServiceInstance.from_api(
        {
            "id": "i",
            "name": "n",
            "status": "CREATING",
            "description": None,
            "source": "not an object",
            "config": {"model_instance_config": {"resource": {"min": "2", "max": None}}},
            "duration": True,
            "create_time": 1685449470401,  # a lenient server's epoch ms
            "update_time": "yesterday",
            "new_field": True,
        }
    )
    assert listed.transitional and listed.description == "" and listed.source_id == ""
    assert listed.resource_min == 2 and listed.resource_max is None and listed.spec_code == ""
    assert listed.duration is None and listed.urls == () and listed.url_address == ""
    assert listed.create_time == "1685449470401" and listed.create_time_ms == 1685449470401
    assert listed.update_time_ms is None and listed.changed_at == 1685449470401
    assert ServiceInstance.from_api({}).id == "" and ServiceInstance.from_api({}).changed_at == 0

    # `url` as a list of objects; empty and junk entries dropped.
    several = ServiceInstance.from_api(
        {
            "id": "i",
            "url": [
                {"name": "a", "address": "https://a", "type": "openai"},
                {},
                "junk",
                {"address": "https://b"},
            ],
        }
    )
    assert [u.address for u in several.urls] == ["https://a", "https://b"]
    assert several.url_address == "https://a" and several.url_type == "openai"
    assert ServiceInstance.from_api({"id": "i", "url": None}).urls == ()

    failed = ServiceInstance.from_api(
        {"id": "i", "status": "FAILED", "error_code": "x.1", "error_msg": "model broken"}
    )
    assert failed.error_code == "x.1" and failed.error_msg == "model broken"
    assert not failed.transitional

    other = FabricEndpoint.from_api({"id": "e", "type": "ray", "reserved_resource": None})
    assert other.mu_max is None and other.mu_spec_code == "" and other.type == "ray"


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("2023-05-30T12:24:30.401Z", 1685449470401),
        ("2023-05-30T12:24:30Z", 1685449470000),
        ("2023-05-30T20:24:30.401+08:00", 1685449470401),
        ("2023-05-30T12:24:30.401", 1685449470401),  # no zone: UTC
        ("1685449470401", 1685449470401),
        ("", None),
        ("not a time", None),
    ],
)
def test_epoch_ms(text: str, ms: int | None) -> None:
    assert epoch_ms(text) == ms


# -- the official SDKs as the request-shape oracle ---------------------------------------


@dataclass
class Captured:
    method: str
    target: str  # path and query as received
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass
class CaptureServer:
    """A local HTTP server that records each request and answers `status` and `answer`."""

    url: str = ""
    requests: list[Captured] = field(default_factory=list)
    status: int = 200
    answer: Any = None

    def take(self) -> Captured:
        assert len(self.requests) == 1, self.requests
        return self.requests.pop()


@pytest.fixture
def capture(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[CaptureServer]:
    monkeypatch.setenv("HOME", str(tmp_path))  # the SDK keeps an application id there
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    state = CaptureServer()

    class Handler(BaseHTTPRequestHandler):
        def handle_one(self) -> None:
            size = int(self.headers.get("Content-Length") or 0)
            state.requests.append(
                Captured(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(size) if size else b"",
                )
            )
            raw = b"" if state.answer is None else json.dumps(state.answer).encode()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.send_header("X-Request-Id", "req-oracle")
            self.end_headers()
            self.wfile.write(raw)

        do_GET = do_POST = do_PUT = do_DELETE = handle_one

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def ep_sdk(url: str) -> Any:
    config = HttpConfig.get_default_config()
    config.timeout = (5, 10)
    return (
        DataArtsFabricEpClient.new_builder()
        .with_http_config(config)
        .with_credentials(sdk.credentials(AK, SK, PID))  # AK, SK and project id: no IAM call
        .with_endpoint(url)
        .build()
    )


def fabric_sdk(url: str) -> Any:
    config = HttpConfig.get_default_config()
    config.timeout = (5, 10)
    return (
        DataArtsFabricClient.new_builder()
        .with_http_config(config)
        .with_credentials(sdk.credentials(AK, SK, PID))
        .with_endpoint(url)
        .build()
    )


def sdk_deploy_body() -> Any:
    return ServiceInstanceInput(
        source=SourceRef(**DEPLOY_BODY["source"]),
        name=DEPLOY_BODY["name"],
        description=DEPLOY_BODY["description"],
        endpoint_id=EID,
        config=ServiceInstanceConfig(
            model_instance_config=ModelServiceInstanceConfig(
                resource=ResourceDemand(min=1, max=1000, spec_code="mu")
            )
        ),
    )


def sdk_update_body() -> Any:
    return UpdateServiceInstanceInput(
        source=SourceRef(id="m-1", version_id="v-1"),
        name="new name",
        description="d",
        config=UpdateServiceInstanceConfig(
            model_instance_config=UpdateModelServiceInstanceConfig(
                resource=BaseDemand(min=1, max=6)
            )
        ),
    )


Oracle = tuple[
    str,  # name
    Callable[[str], Any],  # the SDK call, given the server's URL
    Callable[[FabricClient], Any],  # ours
    int,  # the answer's status
    Any,  # the answer's body
]

ORACLES: list[Oracle] = [
    (
        "deploy",
        lambda url: ep_sdk(url).deploy_service_instance(
            DeployServiceInstanceRequest(workspace_id="w s", body=sdk_deploy_body())
        ),
        lambda c: c.deploy_instance("w s", DEPLOY_BODY),
        200,
        {"id": IID},
    ),
    (
        "show",
        lambda url: ep_sdk(url).show_service_instance_detail(
            ShowServiceInstanceDetailRequest(workspace_id=WS, instance_id="a/b c")
        ),
        lambda c: c.show_instance(WS, "a/b c"),
        200,
        DETAIL,
    ),
    (
        "list",
        lambda url: ep_sdk(url).list_services_instances(
            ListServicesInstancesRequest(
                workspace_id=WS,
                offset=200,
                limit=100,
                endpoint_id=EID,
                name="a b/é",
                sort_by="CREATE_TIME",
                order_by="ASC",
                visibility="PRIVATE",
            )
        ),
        lambda c: c.list_instances(
            WS,
            offset=200,
            limit=100,
            endpoint_id=EID,
            name="a b/é",
            sort_by="CREATE_TIME",
            order_by="ASC",
            visibility="PRIVATE",
        ),
        200,
        {"total": 1, "service_instances": [item(1)]},
    ),
    (
        "update",
        lambda url: ep_sdk(url).update_service_instance(
            UpdateServiceInstanceRequest(workspace_id=WS, instance_id=IID, body=sdk_update_body())
        ),
        lambda c: c.update_instance(
            WS,
            IID,
            name="new name",
            description="d",
            resource_min=1,
            resource_max=6,
            source={"id": "m-1", "version_id": "v-1"},
        ),
        202,
        {"id": IID},
    ),
    (
        "delete",
        lambda url: ep_sdk(url).delete_service_instance(
            DeleteServiceInstanceRequest(workspace_id=WS, instance_id=IID)
        ),
        lambda c: c.delete_instance(WS, IID),
        202,
        None,
    ),
    (
        "show_endpoint",
        lambda url: fabric_sdk(url).show_endpoint(
            ShowEndpointRequest(workspace_id=WS, endpoint_id=EID, version="CURRENT")
        ),
        lambda c: c.show_endpoint(WS, EID, version="CURRENT"),
        200,
        ENDPOINT,
    ),
    (
        "list_endpoints",
        lambda url: fabric_sdk(url).list_endpoints(
            ListEndpointsRequest(workspace_id=WS, offset=0, limit=10, type="inference")
        ),
        lambda c: c.list_endpoints(WS, offset=0, limit=10, type="inference"),
        200,
        {"total": 1, "endpoints": [ENDPOINT]},
    ),
]


@pytest.mark.parametrize(("name", "theirs", "ours", "status", "answer"), ORACLES)
async def test_requests_match_the_official_sdks(
    capture: CaptureServer,
    name: str,
    theirs: Callable[[str], Any],
    ours: Callable[[FabricClient], Any],
    status: int,
    answer: Any,
) -> None:
    """The official SDK client and ours, sent the same operation, send the same method,
    path, query, JSON body and header names, and both sign the same header list."""
    capture.status, capture.answer = status, answer
    theirs(capture.url)
    expected = capture.take()
    client = FabricClient("cn-north-4", PID, KEYS, endpoint=capture.url, policy=FAST)
    try:
        await ours(client)
    finally:
        await client.aclose()
    sent = capture.take()
    assert sent.method == expected.method
    assert sent.target == expected.target  # path, and the query sorted and encoded alike
    assert set(sent.headers) - TRANSPORT_HEADERS == set(expected.headers) - TRANSPORT_HEADERS
    assert signed_names(sent.headers["authorization"]) == signed_names(
        expected.headers["authorization"]
    )
    assert sent.headers["x-project-id"] == expected.headers["x-project-id"] == PID
    if expected.body:
        assert json.loads(sent.body) == json.loads(expected.body)
    else:
        assert sent.body == b""
    # And the official signer, given our request, computes our signature.
    authorization, uri = sdk_authorization(sent.method, sent.target, sent.headers, sent.body, KEYS)
    assert sent.headers["authorization"] == authorization and sent.target == uri


async def test_the_sdk_reads_the_answers_as_our_models_do(capture: CaptureServer) -> None:
    capture.answer = DETAIL
    theirs = ep_sdk(capture.url).show_service_instance_detail(
        ShowServiceInstanceDetailRequest(workspace_id=WS, instance_id=IID)
    )
    capture.requests.clear()
    mine = ServiceInstance.from_api(DETAIL)
    resource = theirs.config.model_instance_config.resource
    assert (theirs.id, theirs.name, theirs.endpoint_id) == (mine.id, mine.name, mine.endpoint_id)
    assert (theirs.source.id, theirs.source.version_id) == (mine.source_id, mine.version_id)
    assert (theirs.url.address, theirs.url.type) == (mine.url_address, mine.url_type)
    assert (resource.min, resource.max, resource.spec_code) == (
        mine.resource_min,
        mine.resource_max,
        mine.spec_code,
    )
    assert theirs.visibility == mine.visibility and theirs.duration == mine.duration
    assert int(theirs.create_time.timestamp() * 1000) == mine.create_time_ms

    capture.answer = ENDPOINT
    endpoint = fabric_sdk(capture.url).show_endpoint(
        ShowEndpointRequest(workspace_id=WS, endpoint_id=EID)
    )
    mu = endpoint.reserved_resource.mu
    ours = FabricEndpoint.from_api(ENDPOINT)
    assert (mu.spec_code, mu.min, mu.max) == (ours.mu_spec_code, ours.mu_min, ours.mu_max)
    assert endpoint.id == ours.id


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (404, SEED_404, errors.NotFound),
        (400, SEED_400, errors.Invalid),
        (400, CAPACITY, EndpointCapacityExceeded),
        (403, SEED_403, errors.Forbidden),
        (401, SEED_401, errors.AuthFailed),
    ],
)
async def test_the_sdk_reads_error_answers_as_we_do(
    capture: CaptureServer, status: int, body: dict[str, Any], kind: type[errors.CloudError]
) -> None:
    capture.status, capture.answer = status, body
    with pytest.raises(ClientRequestException) as raised:
        ep_sdk(capture.url).show_service_instance_detail(
            ShowServiceInstanceDetailRequest(workspace_id=WS, instance_id=IID)
        )
    theirs = raised.value
    client = FabricClient(
        "cn-north-4", PID, KEYS, endpoint=capture.url, policy=RetryPolicy(attempts=1)
    )
    try:
        with pytest.raises(errors.CloudError) as ours:
            await client.show_instance(WS, IID)
    finally:
        await client.aclose()
    assert type(ours.value) is kind
    assert ours.value.status == theirs.status_code == status
    assert ours.value.code == str(theirs.error_code)
    assert ours.value.message == theirs.error_msg
    assert ours.value.request_id == theirs.request_id == "req-oracle"
