"""ModelArtsClient (API v1) against respx: paths, methods, queries (offset is a page index),
bodies, signatures checked with huaweicloudsdkcore's own Signer, IAM-token auth, error
classification per code, retry safety, paging termination, update never sending config and
status together, secrets kept out of reprs and messages."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import respx
from pydantic import SecretStr

from cloudinfer.clouds import errors
from cloudinfer.clouds.huawei.modelarts import (
    ModelArtsClient,
    ModelArtsService,
    ServiceConfig,
    default_endpoint,
)
from cloudinfer.clouds.huawei.requests import USER_AGENT
from cloudinfer.clouds.retry import RetryPolicy
from cloudinfer.credentials import Credentials
from tests.unit.clouds.huawei import sdk

AK, SK, PID = "AK-ID-0001", "SK-SECRET-VALUE-0001", "0123456789abcdef0123456789abcdef"
STS = "STS-TOKEN-VALUE-0001"
IAM = "IAM-TOKEN-VALUE-0001"
BASE = "http://127.0.0.1:8443"
SERVICES = f"{BASE}/v1/{PID}/services"
SID = "f76f20ba-78f5-44e8-893a-37c8c600c02f"
KEYS = Credentials(access_key_id=AK, access_key_secret=SecretStr(SK))
TEMPORARY = Credentials(
    access_key_id=AK, access_key_secret=SecretStr(SK), security_token=SecretStr(STS)
)
TOKEN = Credentials(iam_token=SecretStr(IAM))
FAST = RetryPolicy(attempts=3, base=0.001, cap=0.002)

# Seed 003's example answer to ShowService, plus a field the seed does not list.
SEED_003 = {
    "service_id": SID,
    "service_name": "service-demo",
    "tenant": "xxxxx",
    "project": "xxxxx",
    "owner": "xxxxx",
    "publish_at": 1585809231902,
    "update_time": 1585809358259,
    "infer_type": "real-time",
    "status": "running",
    "progress": 100,
    "access_address": "https://xxxxx.apigw.xxxxx.com/v1/infers/088458d9/f76f20ba",
    "cluster_id": "088458d9-5755-4110-97d8-1d21065ea10b",
    "workspace_id": "0",
    "additional_properties": {},
    "is_shared": False,
    "invocation_times": 0,
    "failed_times": 0,
    "shared_count": 0,
    "operation_time": 1586249085447,
    "config": [
        {
            "model_id": "044ebf3d-8bf4-48df-bf40-bad0e664c1e2",
            "model_name": "jar-model",
            "model_version": "1.0.1",
            "specification": "custom",
            "custom_spec": {},
            "status": "notReady",
            "weight": 100,
            "instance_count": 1,
            "scaling": False,
            "envs": {},
            "additional_properties": {},
            "support_debug": False,
        }
    ],
    "transition_at": 1585809231902,
    "is_free": False,
    "a_field_added_later": {"nested": [1, 2]},
}


def make(creds: Credentials = KEYS, **kwargs: Any) -> ModelArtsClient:
    kwargs.setdefault("policy", FAST)
    kwargs.setdefault("endpoint", BASE)
    return ModelArtsClient("cn-north-4", PID, creds, **kwargs)


def item(n: int) -> dict[str, Any]:
    return {"service_id": f"id-{n}", "service_name": f"svc-{n}", "status": "running"}


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content)


def query_of(request: httpx.Request) -> list[tuple[str, str]]:
    return parse_qsl(request.url.query.decode(), keep_blank_values=True)


# -- the signature, checked by the official SDK's signer ----------------------------------

# Added by httpx on the wire; the SDK never signs them (reference §2, item 4).
TRANSPORT_HEADERS = {"accept", "accept-encoding", "connection", "content-length"}
ADDED_BY_SDK = {"authorization", "x-sdk-date", "x-project-id", "x-security-token"}


@pytest.fixture
def sdk_sign() -> Callable[[httpx.Request, Credentials], tuple[str, str]]:
    """Re-sign a request as it was sent with huaweicloudsdkcore (BasicCredentials.sign_request
    and its Signer, reusing the request's X-Sdk-Date): (Authorization, uri)."""

    def sign(request: httpx.Request, creds: Credentials) -> tuple[str, str]:
        assert creds.access_key_id and creds.access_key_secret
        headers = {
            name: value
            for name, value in request.headers.items()
            # The SDK's credentials add these three themselves (the sent values are
            # asserted apart).
            if name.lower() not in TRANSPORT_HEADERS | ADDED_BY_SDK
        }
        token = creds.security_token.get_secret_value() if creds.security_token else None
        signed, uri = sdk.sdk_sign(
            request.method,
            request.headers["host"],
            request.url.raw_path.decode().split("?")[0],
            query_of(request),
            headers,
            request.content or None,
            sdk.credentials(
                creds.access_key_id, creds.access_key_secret.get_secret_value(), PID, token
            ),
            date=request.headers["x-sdk-date"],
        )
        return signed["Authorization"], uri

    return sign


def assert_signed(
    request: httpx.Request,
    sdk_sign: Callable[[httpx.Request, Credentials], tuple[str, str]],
    creds: Credentials = KEYS,
) -> None:
    authorization, uri = sdk_sign(request, creds)
    assert request.headers["authorization"] == authorization
    # The query on the wire is the canonical one the gateway recomputes.
    assert request.url.raw_path.decode() == uri
    assert request.headers["x-project-id"] == PID
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == USER_AGENT
    assert "x-auth-token" not in request.headers


# -- endpoints -------------------------------------------------------------------------------


def test_default_endpoint() -> None:
    assert default_endpoint("cn-north-4") == "https://modelarts.cn-north-4.myhuaweicloud.com"
    assert default_endpoint("ap-southeast-3") == (
        "https://modelarts.ap-southeast-3.myhuaweicloud.com"
    )
    # The SDK's ModelArtsRegion: ap-southeast-1 lives on the .cn domain.
    assert default_endpoint("ap-southeast-1") == (
        "https://modelarts.ap-southeast-1.myhuaweicloud.cn"
    )


async def test_default_endpoint_is_used_and_signed_with_its_host(sdk_sign: Any) -> None:
    client = ModelArtsClient("ap-southeast-1", PID, KEYS, policy=FAST)
    url = f"https://modelarts.ap-southeast-1.myhuaweicloud.cn/v1/{PID}/services/{SID}"
    async with respx.mock() as router:
        route = router.get(url).respond(200, json=SEED_003)
        await client.show_service(SID)
    request = route.calls.last.request
    assert request.headers["host"] == "modelarts.ap-southeast-1.myhuaweicloud.cn"
    assert_signed(request, sdk_sign)
    await client.aclose()


def test_a_project_id_is_required() -> None:
    with pytest.raises(ValueError, match="project id"):
        ModelArtsClient("cn-north-4", "", KEYS)


# -- operations ------------------------------------------------------------------------------

CREATE_BODY: dict[str, Any] = {
    "service_name": "mnist",
    "infer_type": "real-time",
    "description": "digits · cloudinfer uid 1234",
    "config": [
        {
            "model_id": "m-1",
            "specification": "custom",
            "custom_spec": {"cpu": 1.5, "memory": 2048},
            "instance_count": 2,
            "weight": 100,
            "envs": {"MODE": "fast"},
        }
    ],
    "additional_properties": {"cloudinfer.io/owner": "1234"},
}


async def test_create_service(sdk_sign: Any) -> None:
    client = make()
    async with respx.mock() as router:
        route = router.post(SERVICES).respond(
            200, json={"service_id": SID, "resource_ids": ["r-1"]}
        )
        assert await client.create_service(CREATE_BODY) == SID
    request = route.calls.last.request
    assert request.method == "POST" and request.url.path == f"/v1/{PID}/services"
    assert body_of(request) == CREATE_BODY
    assert request.url.query == b""
    assert_signed(request, sdk_sign)
    signed = request.headers["authorization"].split("SignedHeaders=")[1].split(",")[0]
    assert signed == "content-type;host;user-agent;x-project-id;x-sdk-date"
    await client.aclose()


async def test_create_without_a_service_id_may_have_committed() -> None:
    client = make()
    async with respx.mock() as router:
        route = router.post(SERVICES).respond(200, json={"resource_ids": []})
        with pytest.raises(errors.TransportError) as lost:
            await client.create_service(CREATE_BODY)
    assert lost.value.maybe_committed and route.call_count == 1
    await client.aclose()


async def test_create_is_never_repeated() -> None:
    client = make()
    async with respx.mock() as router:
        route = router.post(SERVICES).mock(
            side_effect=[
                httpx.Response(500, json={"error_code": "ModelArts.3501", "error_msg": "x"}),
                httpx.Response(200, json={"service_id": SID}),
            ]
        )
        with pytest.raises(errors.ServerError):
            await client.create_service(CREATE_BODY)
        assert route.call_count == 1
        route.side_effect = httpx.ReadTimeout("lost")
        with pytest.raises(errors.TransportError) as lost:
            await client.create_service(CREATE_BODY)
        assert lost.value.maybe_committed and route.call_count == 2
    await client.aclose()


async def test_show_service_parses_seed_003(sdk_sign: Any) -> None:
    client = make()
    async with respx.mock() as router:
        route = router.get(f"{SERVICES}/{SID}").respond(
            200, json=SEED_003, headers={"X-Request-Id": "req-1"}
        )
        service = await client.show_service(SID)
    assert_signed(route.calls.last.request, sdk_sign)
    assert route.calls.last.request.content == b""
    assert service.service_id == SID and service.service_name == "service-demo"
    assert service.status == "running" and service.progress == 100
    assert service.infer_type == "real-time"
    assert service.access_address.startswith("https://xxxxx.apigw")
    assert service.update_time == 1585809358259 and service.transition_at == 1585809231902
    assert service.changed_at == 1585809358259
    assert service.cluster_id.startswith("088458d9") and service.workspace_id == "0"
    assert not service.transitional and service.instance_count == 1
    (model,) = service.config
    assert model == ServiceConfig(
        model_id="044ebf3d-8bf4-48df-bf40-bad0e664c1e2",
        model_name="jar-model",
        model_version="1.0.1",
        specification="custom",
        custom_spec=model.custom_spec,
        instance_count=1,
        weight=100,
        status="notReady",
    )
    assert model.custom_spec is not None and model.custom_spec.to_api() == {}
    await client.aclose()


async def test_service_id_is_one_quoted_path_segment() -> None:
    client = make()
    async with respx.mock() as router:
        route = router.get(url__regex=r".*").respond(200, json={"service_id": "a/b c"})
        await client.show_service("a/b c")
    assert route.calls.last.request.url.raw_path == f"/v1/{PID}/services/a%2Fb%20c".encode()
    for bad in ("", "  ", "id-1,id-2"):
        with pytest.raises(ValueError):
            await client.delete_service(bad)
        with pytest.raises(ValueError):
            await client.show_service(bad)
    assert route.call_count == 1  # nothing sent for the refused ids
    await client.aclose()


async def test_list_services_page_index_and_filters(sdk_sign: Any) -> None:
    client = make()
    async with respx.mock() as router:
        route = router.get(SERVICES).respond(
            200, json={"total_count": 7, "count": 2, "services": [item(4), item(5)]}
        )
        page = await client.list_services(
            2,
            2,
            sort_by="publish_at",
            order="desc",
            service_name="a b/é",
            workspace_id="ws-1",
            status="",  # empty filters are left out
        )
    request = route.calls.last.request
    assert dict(query_of(request)) == {
        "offset": "2",  # the third page, not the third record
        "limit": "2",
        "sort_by": "publish_at",
        "order": "desc",
        "service_name": "a b/é",
        "workspace_id": "ws-1",
    }
    # Sent exactly as signed: sorted, %20 for a space, %2F for a slash.
    assert request.url.query == (
        b"limit=2&offset=2&order=desc&service_name=a%20b%2F%C3%A9&sort_by=publish_at"
        b"&workspace_id=ws-1"
    )
    assert_signed(request, sdk_sign)
    assert [s.service_id for s in page.services] == ["id-4", "id-5"]
    assert (page.page, page.limit, page.total_count, page.count) == (2, 2, 7, 2)
    with pytest.raises(TypeError, match="servce_name"):
        await client.list_services(servce_name="typo")
    with pytest.raises(ValueError):
        await client.list_services(-1)
    await client.aclose()


async def test_list_defaults() -> None:
    client = make()
    async with respx.mock() as router:
        route = router.get(SERVICES).respond(200, json={})
        page = await client.list_services()
    assert dict(query_of(route.calls.last.request)) == {"offset": "0", "limit": "1000"}
    assert page.services == [] and page.total_count is None and page.count == 0
    await client.aclose()


def pages_of(services: list[dict[str, Any]], total: bool = True) -> Callable[..., httpx.Response]:
    """A ListServices that pages `services` the way ModelArts does (offset = page index)."""

    def answer(request: httpx.Request) -> httpx.Response:
        query = dict(query_of(request))
        page, limit = int(query["offset"]), int(query["limit"])
        chunk = services[page * limit : (page + 1) * limit]
        body: dict[str, Any] = {"count": len(chunk), "services": chunk}
        if total:
            body["total_count"] = len(services)
        return httpx.Response(200, json=body)

    return answer


@pytest.mark.parametrize(
    ("count", "limit", "total", "calls"),
    [
        (5, 2, True, 3),  # pages 0, 1, 2; the last one short
        (4, 2, True, 2),  # total reached with a full page: no extra call
        (4, 2, False, 3),  # no total: the empty third page ends it
        (5, 2, False, 3),  # no total: the short page ends it
        (0, 2, True, 1),
    ],
)
async def test_list_all_services_pages_by_index(
    count: int, limit: int, total: bool, calls: int
) -> None:
    client = make()
    everything = [item(n) for n in range(count)]
    async with respx.mock() as router:
        route = router.get(SERVICES).mock(side_effect=pages_of(everything, total))
        services, made = await client.list_all_services(limit=limit, workspace_id="ws-1")
    assert [s.service_id for s in services] == [s["service_id"] for s in everything]
    assert made == calls == route.call_count
    offsets = [dict(query_of(c.request))["offset"] for c in route.calls]
    assert offsets == [str(n) for n in range(calls)]
    first = dict(query_of(route.calls[0].request))
    assert first["sort_by"] == "publish_at" and first["order"] == "asc"
    assert first["workspace_id"] == "ws-1"
    await client.aclose()


async def test_list_all_services_stops_when_offset_is_ignored() -> None:
    """A server that reads `offset` as something else (or ignores it) answers the same full
    page again: the loop ends instead of spinning."""
    client = make()
    async with respx.mock() as router:
        route = router.get(SERVICES).respond(
            200, json={"total_count": 10, "services": [item(0), item(1)]}
        )
        services, made = await client.list_all_services(limit=2)
    assert len(services) == 2 and made == route.call_count == 2
    await client.aclose()


async def test_list_all_services_drops_duplicates_across_pages() -> None:
    client = make()
    answers = [
        httpx.Response(200, json={"total_count": 3, "services": [item(0), item(1)]}),
        httpx.Response(200, json={"total_count": 3, "services": [item(1), item(2)]}),
    ]
    async with respx.mock() as router:
        router.get(SERVICES).mock(side_effect=answers)
        services, made = await client.list_all_services(limit=2)
    assert [s.service_id for s in services] == ["id-0", "id-1", "id-2"] and made == 2
    await client.aclose()


async def test_update_config_never_sends_status(sdk_sign: Any) -> None:
    client = make()
    config = [{"model_id": "m-2", "specification": "modelarts.vm.cpu.2u", "weight": 100}]
    async with respx.mock() as router:
        route = router.put(f"{SERVICES}/{SID}").respond(200, json={})
        await client.update_service_config(
            SID,
            config=config,
            description="new",
            schedule=[{"type": "stop", "time_unit": "HOURS", "duration": 2}],
            additional_properties={"k": "v"},
            extra={"priority": 2},
        )
        request = route.calls.last.request
        assert request.method == "PUT"
        assert body_of(request) == {
            "config": config,
            "description": "new",
            "schedule": [{"type": "stop", "time_unit": "HOURS", "duration": 2}],
            "additional_properties": {"k": "v"},
            "priority": 2,
        }
        assert_signed(request, sdk_sign)
        await client.update_service_config(SID, description="")  # an empty description is sent
        assert body_of(route.calls.last.request) == {"description": ""}
        with pytest.raises(ValueError, match="update_service_status"):
            await client.update_service_config(SID, config=config, extra={"status": "running"})
        with pytest.raises(ValueError, match="nothing"):
            await client.update_service_config(SID)
        assert route.call_count == 2
    await client.aclose()


async def test_update_status_sends_only_status(sdk_sign: Any) -> None:
    client = make()
    async with respx.mock() as router:
        route = router.put(f"{SERVICES}/{SID}").respond(200)  # no body documented
        await client.update_service_status(SID, "stopped")
        await client.start_service(SID)
        await client.stop_service(SID)
        with pytest.raises(ValueError):
            await client.update_service_status(SID, "deleting")  # type: ignore[arg-type]
    assert [body_of(c.request) for c in route.calls] == [
        {"status": "stopped"},
        {"status": "running"},
        {"status": "stopped"},
    ]
    assert_signed(route.calls[0].request, sdk_sign)
    for call in route.calls:
        assert "config" not in body_of(call.request)
    await client.aclose()


async def test_delete_service(sdk_sign: Any) -> None:
    client = make()
    async with respx.mock() as router:
        route = router.delete(f"{SERVICES}/{SID}").respond(200, json={})
        await client.delete_service(SID)
    request = route.calls.last.request
    assert request.content == b"" and request.url.query == b""
    assert_signed(request, sdk_sign)
    await client.aclose()


async def test_show_service_events(sdk_sign: Any) -> None:
    client = make()
    answer = {
        "service_id": SID,
        "service_name": "service-demo",
        "total_count": 3,
        "count": 2,
        "events": [
            {"event_type": "abnormal", "event_info": "[Pod] failed", "occur_time": 1700000000002},
            {"event_type": "normal", "event_info": "start deploying", "occur_time": 1700000000001},
        ],
    }
    async with respx.mock() as router:
        route = router.get(f"{SERVICES}/{SID}/events").respond(200, json=answer)
        page = await client.show_service_events(
            SID, page=1, limit=2, event_type="abnormal", start_time=1700000000000, order="asc"
        )
    request = route.calls.last.request
    assert dict(query_of(request)) == {
        "offset": "1",
        "limit": "2",
        "event_type": "abnormal",
        "start_time": "1700000000000",
        "order": "asc",
    }
    assert_signed(request, sdk_sign)
    assert page.service_id == SID and page.total_count == 3 and page.count == 2
    assert [e.abnormal for e in page.events] == [True, False]
    assert page.events[0].occur_time == 1700000000002 and page.events[0].event_info
    await client.aclose()


# -- the same request a real SDK client call assembles ---------------------------------------

REAL = "https://modelarts.cn-north-4.myhuaweicloud.com"
ITEM = "/v1/{project_id}/services/{service_id}"


@pytest.mark.parametrize(
    ("call", "method", "path", "query", "body"),
    [
        (
            lambda c: c.create_service(CREATE_BODY),
            "POST",
            "/v1/{project_id}/services",
            [],
            CREATE_BODY,
        ),
        (lambda c: c.show_service("a/b c"), "GET", ITEM, [], None),
        (
            lambda c: c.list_services(1, 50, service_name="a b/é", status="running"),
            "GET",
            "/v1/{project_id}/services",
            [("offset", 1), ("limit", 50), ("service_name", "a b/é"), ("status", "running")],
            None,
        ),
        (
            lambda c: c.update_service_config("a/b c", description="d"),
            "PUT",
            ITEM,
            [],
            {"description": "d"},
        ),
        (lambda c: c.stop_service("a/b c"), "PUT", ITEM, [], {"status": "stopped"}),
        (lambda c: c.delete_service("a/b c"), "DELETE", ITEM, [], None),
        (
            lambda c: c.show_service_events("a/b c", event_type="normal"),
            "GET",
            ITEM + "/events",
            [("offset", 0), ("limit", 1000), ("event_type", "normal")],
            None,
        ),
    ],
)
async def test_requests_match_an_official_sdk_call(
    call: Callable[[ModelArtsClient], Any],
    method: str,
    path: str,
    query: list[tuple[str, Any]],
    body: Any,
) -> None:
    """huaweicloudsdkcore's generic client (the way to call v1, reference §4.3) builds the
    same method, URI (path and sorted query), header names and body."""
    expected = sdk.captured_call(
        sdk.credentials(AK, SK, PID),
        method,
        path,
        path_params={"service_id": "a/b c"} if "{service_id}" in path else None,
        query_params=query,
        body=body,
        endpoint=REAL,
    )
    client = ModelArtsClient("cn-north-4", PID, KEYS, policy=FAST)
    async with respx.mock() as router:
        route = router.route().respond(200, json={"service_id": SID})
        await call(client)
    sent = route.calls.last.request
    assert sent.method == expected.method
    assert sent.url.raw_path.decode() == expected.uri
    ours = {k.lower() for k in sent.headers} - TRANSPORT_HEADERS
    assert ours == {k.lower() for k in expected.header_params}

    def signed(authorization: str) -> str:
        return authorization.split("SignedHeaders=")[1].split(",")[0]

    assert signed(sent.headers["authorization"]) == signed(expected.header_params["Authorization"])
    if body is None:
        assert not sent.content and not expected.body
    else:
        assert json.loads(sent.content) == json.loads(expected.body) == body
    await client.aclose()


# -- authentication --------------------------------------------------------------------------


async def test_temporary_keys_sign_the_security_token(sdk_sign: Any) -> None:
    client = make(TEMPORARY)
    async with respx.mock() as router:
        route = router.get(SERVICES).respond(200, json={"services": []})
        await client.list_services()
    request = route.calls.last.request
    assert request.headers["x-security-token"] == STS
    assert_signed(request, sdk_sign, TEMPORARY)
    assert "x-security-token" in request.headers["authorization"]
    await client.aclose()


async def test_iam_token_is_sent_as_x_auth_token() -> None:
    client = make(TOKEN)
    async with respx.mock() as router:
        route = router.post(SERVICES).respond(200, json={"service_id": SID})
        await client.create_service(CREATE_BODY)
    request = route.calls.last.request
    assert request.headers["x-auth-token"] == IAM
    assert "authorization" not in request.headers
    assert request.headers["x-project-id"] == PID
    assert request.headers["content-type"] == "application/json"
    await client.aclose()


async def test_rotated_credentials_apply_to_the_next_request(sdk_sign: Any) -> None:
    client = make(TOKEN)
    async with respx.mock() as router:
        route = router.get(f"{SERVICES}/{SID}").respond(200, json=SEED_003)
        await client.show_service(SID)
        client.set_credentials(KEYS)
        await client.show_service(SID)
    first, second = (c.request for c in route.calls)
    assert "x-auth-token" in first.headers and "authorization" not in first.headers
    assert_signed(second, sdk_sign)
    await client.aclose()


async def test_secrets_stay_out_of_reprs_and_errors() -> None:
    for creds in (KEYS, TEMPORARY, TOKEN):
        client = make(creds)
        text = repr(client) + repr(creds)
        for secret in (SK, STS, IAM):
            assert secret not in text
        async with respx.mock() as router:
            router.get(f"{SERVICES}/{SID}").respond(
                401,
                json={"error_code": "APIGW.0301", "error_msg": "Incorrect IAM authentication"},
            )
            with pytest.raises(errors.AuthFailed) as refused:
                await client.show_service(SID)
        shown = str(refused.value) + repr(refused.value) + repr(vars(refused.value))
        for secret in (SK, STS, IAM):
            assert secret not in shown
        await client.aclose()
    secret_env = ModelArtsService.from_api(
        {"service_id": "x", "config": [{"model_id": "m", "envs": {"API_KEY": "hunter2-secret"}}]}
    )
    assert secret_env.config[0].envs == {"API_KEY": "hunter2-secret"}
    assert "hunter2-secret" not in repr(secret_env)


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (404, "ModelArts.3502", errors.NotFound),
        (409, "ModelArts.3503", errors.Conflict),
        (400, "ModelArts.3519", errors.Busy),
        (400, "ModelArts.3520", errors.Invalid),
        (400, "ModelArts.3521", errors.Invalid),
        (400, "ModelArts.3522", errors.Invalid),
        (400, "ModelArts.0101", errors.Invalid),
        (404, "ModelArts.3507", errors.Invalid),  # the spec's model does not exist
        (401, "ModelArts.0201", errors.AuthFailed),
        (401, "ModelArts.0202", errors.AuthFailed),
        (401, "ModelArts.0203", errors.AuthFailed),
        (401, "ModelArts.0204", errors.AuthFailed),
        (403, "ModelArts.0206", errors.AuthFailed),
        (403, "ModelArts.0210", errors.Forbidden),
        (401, "APIGW.0301", errors.AuthFailed),
        (401, "APIG.0301", errors.AuthFailed),
        (429, "APIGW.0308", errors.Throttled),
        (500, "ModelArts.3505", errors.ServerError),
        (404, "", errors.ServerError),  # a 404 without a code is not "the service is gone"
        (400, "ModelArts.9999", errors.Unrecognised),
    ],
)
async def test_errors_are_classified_by_code(
    status: int, code: str, kind: type[errors.CloudError]
) -> None:
    client = make(policy=RetryPolicy(attempts=1))
    body = {"error_code": code, "error_msg": f"refused: {code}"} if code else None
    async with respx.mock() as router:
        router.put(f"{SERVICES}/{SID}").respond(
            status, json=body, headers={"X-Request-Id": "req-42"}
        )
        with pytest.raises(errors.CloudError) as raised:
            await client.update_service_config(SID, description="d")
    error = raised.value
    assert type(error) is kind
    assert error.code == code and error.status == status
    assert error.cloud == "huawei-modelarts" and error.operation == "UpdateService"
    if code:
        assert error.request_id == "req-42" and error.message == f"refused: {code}"
    await client.aclose()


async def test_quota_is_terminal_and_busy_is_retried_later() -> None:
    client = make()
    async with respx.mock() as router:
        quota = router.post(SERVICES).respond(
            400, json={"error_code": "ModelArts.3520", "error_msg": "max 10 services"}
        )
        with pytest.raises(errors.Invalid) as refused:
            await client.create_service(CREATE_BODY)
        assert refused.value.terminal and quota.call_count == 1
        busy = router.put(f"{SERVICES}/{SID}").respond(
            400, json={"error_code": "ModelArts.3519", "error_msg": "deploying"}
        )
        with pytest.raises(errors.Busy) as wrong_state:
            await client.update_service_status(SID, "stopped")
        # Not terminal, and not retried inline: a state change takes longer; the caller requeues.
        assert wrong_state.value.transient and not wrong_state.value.terminal
        assert busy.call_count == 1
    await client.aclose()


async def test_idempotent_reads_are_retried_on_server_errors() -> None:
    client = make()
    async with respx.mock() as router:
        route = router.get(f"{SERVICES}/{SID}").mock(
            side_effect=[
                httpx.Response(503, text="<html>bad gateway</html>"),
                httpx.ConnectError("refused"),
                httpx.Response(200, json=SEED_003),
            ]
        )
        service = await client.show_service(SID)
    assert service.status == "running" and route.call_count == 3
    # Every attempt is signed afresh (a new X-Sdk-Date: the gateway's 15-minute window).
    assert all("x-sdk-date" in c.request.headers for c in route.calls)
    await client.aclose()


async def test_throttling_honours_retry_after() -> None:
    client = make()
    async with respx.mock() as router:
        route = router.get(SERVICES).mock(
            side_effect=[
                httpx.Response(
                    429,
                    json={"error_code": "APIGW.0308", "error_msg": "throttled"},
                    headers={"Retry-After": "60"},
                )
            ]
        )
        with pytest.raises(errors.Throttled) as throttled:
            await client.list_services()
    assert throttled.value.retry_after == 60 and route.call_count == 1
    await client.aclose()


async def test_gateway_nested_error_shape() -> None:
    client = make(policy=RetryPolicy(attempts=1))
    body = {
        "error": {"code": "APIGW.0301", "message": "Incorrect IAM authentication information"},
        "error_code": 401,
        "error_msg": "Incorrect IAM authentication information",
        "request_id": "body-req",
    }
    async with respx.mock() as router:
        router.get(SERVICES).respond(401, json=body)
        with pytest.raises(errors.AuthFailed) as refused:
            await client.list_services()
    assert refused.value.code == "APIGW.0301" and refused.value.request_id == "body-req"
    await client.aclose()


# -- models ----------------------------------------------------------------------------------


def test_models_tolerate_missing_unknown_and_mistyped_fields() -> None:
    listed = ModelArtsService.from_api(
        {
            "service_id": "s",
            "service_name": "n",
            "status": "deploying",
            "progress": "40",
            "publish_at": 1,
            "description": None,
            "additional_properties": {"owner": "uid", "n": 1},
            "config": "not a list",
            "schedule": [{"type": "stop", "time_unit": "HOURS", "duration": 1}, "junk"],
            "new_field": True,
        }
    )
    assert listed.transitional and listed.progress == 40 and listed.description == ""
    assert listed.config == () and listed.access_address == "" and listed.error_msg == ""
    assert listed.additional_properties == {"owner": "uid", "n": "1"}
    assert listed.schedule == [{"type": "stop", "time_unit": "HOURS", "duration": 1}]
    assert listed.update_time is None and listed.changed_at == 1

    failed = ModelArtsService.from_api(
        {
            "service_id": "s",
            "status": "failed",
            "error_msg": "model m-1 broken",
            "progress": None,
            "config": [
                {
                    "model_id": "m-1",
                    "specification": "custom",
                    "custom_spec": {"cpu": "0.5", "memory": 1024, "gpu_p4": 1, "extra": 1},
                    "instance_count": "3",
                    "weight": None,
                    "envs": None,
                },
                "junk",
            ],
        }
    )
    assert failed.progress is None and failed.error_msg == "model m-1 broken"
    (model,) = failed.config
    assert model.instance_count == 3 and model.weight == 0 and model.envs == {}
    assert model.custom_spec is not None
    assert model.custom_spec.to_api() == {"cpu": 0.5, "memory": 1024, "gpu_p4": 1.0}
    assert ModelArtsService.from_api({}).service_id == ""
