"""ViasClient (VIAS algorithm services) against httpx.MockTransport: paths (the project id
in each), methods, bodies, the query (repeated `alg_status`, sorted and encoded as signed),
signatures checked with huaweicloudsdkcore's own Signer, IAM-token auth, the error table (a
missing object is a 400), retry safety (deploy never repeated once it may have been
committed), an authoritative full listing, and seed 004's example answer parsed verbatim.

Then the official core as the request oracle: there is no Python VIAS SDK, so the generic
`call_api(...)` (reference/huawei.md §4.3) sends each operation, and for the same
X-Sdk-Date it must build the very request ours sends: method, path, query, every signed
header and the signature, byte for byte."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from pydantic import SecretStr

from cloudinfer.clouds import errors
from cloudinfer.clouds.huawei import requests as huawei_requests
from cloudinfer.clouds.huawei import signer as huawei_signer
from cloudinfer.clouds.huawei.requests import USER_AGENT, HuaweiRequest
from cloudinfer.clouds.huawei.vias import (
    ALG_STATUSES,
    Accelerator,
    DeploymentConstraints,
    ListingInconsistent,
    ServiceApi,
    ServiceDetail,
    ServicePage,
    ServiceSummary,
    ViasClient,
    default_endpoint,
)
from cloudinfer.clouds.huawei.vias.client import LIST_PASSES, PAGE_SIZE
from cloudinfer.clouds.huawei.vias_errors import TABLE
from cloudinfer.clouds.retry import RetryPolicy
from cloudinfer.credentials import Credentials
from tests.unit.clouds.huawei import sdk

AK, SK, PID = "AK-ID-0001", "SK-SECRET-VALUE-0001", "0123456789abcdef0123456789abcdef"
STS = "STS-TOKEN-VALUE-0001"
IAM = "IAM-TOKEN-VALUE-0001"
ALG = "068ed4d8-077e-4ec9-aa19-bc******e925"
SID = "331bcb4a-5b3c-4e67-87cc-6c******d77b"
BASE = "http://127.0.0.1:8443"
ROOT = f"/v2/{PID}/algorithm"
KEYS = Credentials(access_key_id=AK, access_key_secret=SecretStr(SK))
TEMPORARY = Credentials(
    access_key_id=AK, access_key_secret=SecretStr(SK), security_token=SecretStr(STS)
)
TOKEN = Credentials(iam_token=SecretStr(IAM))
FAST = RetryPolicy(attempts=3, base=0.001, cap=0.002)

# Seed 004's example answer to ShowServiceDetail, verbatim (`alg_scene` is not in its table).
SEED_004: dict[str, Any] = json.loads(
    r"""
{
  "service_id" : "331bcb4a-5b3c-4e67-87cc-6c******d77b",
  "service_name" : "Edge Intrusion Detection",
  "logo" : "",
  "function_version" : "1.0",
  "release_flag" : true,
  "created_at" : 1680008856502,
  "updated_at" : 1680004378199,
  "release_at" : 1680004378199,
  "api" : "c-int******ion-edge",
  "pool_id" : "ed9f128bf7d04f5683f0ef******a255",
  "alg_name" : "Edge Intrusion Detection",
  "alg_id" : "068ed4d8-077e-4ec9-aa19-bc******e925",
  "package_id" : "9a2423e3-02d3-4305-b491-d6******51bd",
  "alg_version" : "1.0.1",
  "alg_versions" : [ ],
  "diagram" : "",
  "service_api_list" : [ {
    "request_type" : "POST",
    "zh" : "Creating a Task",
    "en" : "create task",
    "request_url" : "/v2/41be0da3412b4a569409dcec43983908/services/c-int******ion-edge/tasks"
  }, {
    "request_type" : "GET",
    "zh" : "Task details",
    "en" : "task detail",
    "request_url" : "/v2/41be0da3412b4a569409dcec43983908/tasks/{task_id}"
  }, {
    "request_type" : "GET",
    "zh" : "Task list",
    "en" : "task list",
    "request_url" : "/v2/41be0da3412b4a569409dcec43983908/tasks"
  }, {
    "request_type" : "DELETE",
    "zh" : "Deleting a Task",
    "en" : "delete task",
    "request_url" : "/v2/41be0da3412b4a569409dcec43983908/tasks/{task_id}"
  }, {
    "request_type" : "PUT",
    "zh" : "Starting a task",
    "en" : "start task",
    "request_url" : "/v2/41be0da3412b4a569409dcec43983908/tasks/{task_id}/action/start"
  }, {
    "request_type" : "PUT",
    "zh" : "Stopping a task",
    "en" : "stop task",
    "request_url" : "/v2/41be0da3412b4a569409dcec43983908/tasks/{task_id}/action/stop"
  } ],
  "deployment_constraints" : {
    "request_mode" : "async",
    "cpu_type" : "x86_64",
    "accelerators" : [ {
      "type" : "gp",
      "name" : "Tnt004",
      "cuda_version" : "cuda 10.2"
    } ],
    "input_types" : [ "Restful", "VCN", "EdgeCamera" ],
    "output_types" : [ "Webhook" ],
    "service_config" : "<?xml version=\"1.0\" encoding=\"UTF-8\"?><algorithm><deployConfig> <param name=\"sub_scene\" titleCn=\"Sub scenario\" titleEn=\"sub scene\" required=\"false\" type=\"String\" default=\"common\"/></deployConfig></algorithm>",
    "task_config" : "<algorithm><config><common/></config></algorithm>"
  },
  "alg_scene" : "other",
  "deploy_type" : "edge"
}
"""  # noqa: E501 (verbatim)
)


# -- the HTTP side -----------------------------------------------------------------------

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class Stub:
    """What httpx.MockTransport calls: records every request and answers each with the next
    of `answers` (the last one repeats). An exception is raised as the transport's failure;
    a callable answers from the request."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):  # a fresh copy: each is read once
            return httpx.Response(
                answer.status_code, headers=answer.headers, content=answer.content
            )
        return answer(request)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    @property
    def count(self) -> int:
        return len(self.requests)


def ok(body: Any = None, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body) if body is not None else httpx.Response(status)


def refusal(status: int, code: str, message: str = "", **headers: str) -> httpx.Response:
    """A VIAS error answer in the documented shape."""
    body = {
        "error_code": code,
        "error_msg": message or f"refused: {code}",
        "detail": "",
        "params": [],
        "reason": "",
        "advice": "",
    }
    return httpx.Response(status, json=body, headers={"X-Request-Id": "req-42", **headers})


def make(stub: Stub, creds: Credentials = KEYS, **kwargs: Any) -> ViasClient:
    kwargs.setdefault("policy", FAST)
    kwargs.setdefault("endpoint", BASE)
    http = httpx.AsyncClient(transport=httpx.MockTransport(stub))
    return ViasClient("cn-north-4", PID, creds, http=http, **kwargs)


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content)


def target_of(request: httpx.Request) -> str:
    return request.url.raw_path.decode()


def query_of(request: httpx.Request) -> list[tuple[str, str]]:
    return parse_qsl(request.url.query.decode(), keep_blank_values=True)


def signed_names(authorization: str) -> str:
    return authorization.split("SignedHeaders=")[1].split(",")[0]


# -- the signature, checked by the official SDK's signer ----------------------------------

# Added on the wire by httpx or requests; the SDK never signs them (reference §2, item 4).
TRANSPORT_HEADERS = {"accept", "accept-encoding", "connection", "content-length"}
ADDED_BY_SDK = {"authorization", "x-sdk-date", "x-project-id", "x-security-token"}


def assert_signed(request: httpx.Request, creds: Credentials = KEYS) -> None:
    """Re-sign the request as sent with huaweicloudsdkcore (BasicCredentials.sign_request and
    its Signer, reusing the request's X-Sdk-Date): the same Authorization and URI."""
    assert creds.access_key_id and creds.access_key_secret
    headers = {k.lower(): v for k, v in request.headers.items()}
    own = {k: v for k, v in headers.items() if k not in TRANSPORT_HEADERS | ADDED_BY_SDK}
    token = creds.security_token.get_secret_value() if creds.security_token else None
    target = target_of(request)
    path, _, query = target.partition("?")
    signed, uri = sdk.sdk_sign(
        request.method,
        headers["host"],
        path,
        parse_qsl(query, keep_blank_values=True),
        own,
        request.content or None,
        sdk.credentials(
            creds.access_key_id, creds.access_key_secret.get_secret_value(), PID, token
        ),
        date=headers["x-sdk-date"],
    )
    assert headers["authorization"] == signed["Authorization"]
    assert target == uri  # the query on the wire is the canonical one the gateway recomputes
    assert headers["x-project-id"] == PID
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == USER_AGENT
    assert "x-auth-token" not in headers


def summary(n: int, status: str = "service_running", **extra: Any) -> dict[str, Any]:
    """A ListUserServices item (ServicesListInfoDto), created at n ms."""
    return {
        "alg_id": f"alg-{n:04d}",
        "service_id": f"svc-{n:04d}",
        "service_name": f"service {n}",
        "alg_status": status,
        "created_at": 1_680_000_000_000 + n,
        **extra,
    }


# -- construction ------------------------------------------------------------------------


def test_default_endpoint() -> None:
    assert default_endpoint("cn-north-4") == "https://vias.cn-north-4.myhuaweicloud.com"
    assert default_endpoint("ap-southeast-3") == "https://vias.ap-southeast-3.myhuaweicloud.com"


async def test_the_default_endpoint_is_used_and_signed_with_its_host() -> None:
    stub = Stub(ok(SEED_004))
    client = make(stub, endpoint=None)
    assert client.transport.base_url == "https://vias.cn-north-4.myhuaweicloud.com"
    await client.show_service(SID)
    assert str(stub.last.url).startswith("https://vias.cn-north-4.myhuaweicloud.com/v2/")
    assert stub.last.headers["host"] == "vias.cn-north-4.myhuaweicloud.com"
    assert_signed(stub.last)
    await client.aclose()


@pytest.mark.parametrize("project_id", ["", "   ", None])
def test_a_project_id_is_required(project_id: Any) -> None:
    with pytest.raises(ValueError, match="project id"):
        ViasClient("cn-north-4", project_id, KEYS)


# -- deploy ------------------------------------------------------------------------------


async def test_deploy() -> None:
    stub = Stub(ok({"alg_name": "Edge Intrusion Detection"}))
    client = make(stub)
    name = await client.deploy(
        ALG,
        stream_count=2,
        pool_id="ed9f128bf7d04f5683f0ef******a255",
        deploy_config={"sub_scene": "common", "threshold": 0.5},
        envs={"LOG_LEVEL": "debug"},
    )
    assert name == "Edge Intrusion Detection"
    request = stub.last
    assert request.method == "POST" and request.url.path == f"{ROOT}/{ALG}/deploy"
    assert request.url.query == b""
    # DeployServiceReq's fields in its order, compact JSON, nothing else.
    assert request.content == (
        b'{"pool_id":"ed9f128bf7d04f5683f0ef******a255","stream_count":2,'
        b'"deploy_config":{"sub_scene":"common","threshold":0.5},'
        b'"envs":{"LOG_LEVEL":"debug"}}'
    )
    assert_signed(request)
    assert signed_names(request.headers["authorization"]) == (
        "content-type;host;user-agent;x-project-id;x-sdk-date"
    )
    await client.aclose()


async def test_deploy_sends_only_the_fields_given() -> None:
    stub = Stub(ok({}))
    client = make(stub)
    assert await client.deploy(ALG, stream_count=1) == ""  # no alg_name in the answer
    assert body_of(stub.last) == {"stream_count": 1}
    await client.deploy(ALG, stream_count=10_000, deploy_config={}, envs={})
    assert body_of(stub.last) == {"stream_count": 10_000, "deploy_config": {}, "envs": {}}
    await client.aclose()


@pytest.mark.parametrize("count", [0, -1, 10_001, True, 2.5, "3"])
async def test_deploy_refuses_a_stream_count_out_of_range(count: Any) -> None:
    stub = Stub(ok({}))
    client = make(stub)
    with pytest.raises(ValueError, match="stream_count"):
        await client.deploy(ALG, stream_count=count)
    with pytest.raises(TypeError, match="envs"):
        await client.deploy(ALG, stream_count=1, envs={"N": 1})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="algorithm id"):
        await client.deploy("", stream_count=1)
    assert stub.count == 0  # nothing was sent
    await client.aclose()


@pytest.mark.parametrize(
    ("failure", "kind"),
    [
        (refusal(500, "VIAS.00010006", "internal error"), errors.ServerError),
        (refusal(500, "VIAS.00010009", "service access failed"), errors.ServerError),
        (httpx.Response(503, text="<html>bad gateway</html>"), errors.ServerError),
        (httpx.ReadTimeout("lost"), errors.TransportError),
        (httpx.RemoteProtocolError("Server disconnected"), errors.TransportError),
        (httpx.ReadError("connection reset"), errors.TransportError),
    ],
)
async def test_a_deploy_that_may_have_been_committed_is_never_repeated(
    failure: Answer, kind: type[errors.CloudError]
) -> None:
    stub = Stub(failure, ok({"alg_name": "a"}))
    client = make(stub)
    with pytest.raises(kind) as raised:
        await client.deploy(ALG, stream_count=1)
    assert stub.count == 1
    assert raised.value.transient  # the caller reads the state, then decides
    assert raised.value.operation == "DeployAlgorithm" and raised.value.cloud == "huawei-vias"
    if isinstance(raised.value, errors.TransportError):
        assert raised.value.maybe_committed
    await client.aclose()


async def test_a_deploy_that_never_connected_is_retried() -> None:
    stub = Stub(httpx.ConnectError("refused"), ok({"alg_name": "a"}))
    client = make(stub)
    assert await client.deploy(ALG, stream_count=1) == "a"
    assert stub.count == 2
    await client.aclose()


# -- stop, show --------------------------------------------------------------------------


async def test_stop() -> None:
    stub = Stub(ok({"alg_id": ALG}))
    client = make(stub)
    await client.stop(ALG)  # the answer ({alg_id}) carries nothing new
    request = stub.last
    assert request.method == "PUT" and request.url.path == f"{ROOT}/{ALG}/deploy/stop"
    assert request.content == b"" and request.url.query == b""
    assert_signed(request)
    await client.aclose()


async def test_stop_is_idempotent_and_retried() -> None:
    stub = Stub(
        refusal(500, "VIAS.00010006"),
        httpx.ReadTimeout("lost"),
        ok({"alg_id": ALG}),
    )
    client = make(stub)
    await client.stop(ALG)
    assert stub.count == 3
    # Every attempt is signed afresh (a new X-Sdk-Date: the gateway's 15-minute window).
    assert all("x-sdk-date" in r.headers for r in stub.requests)
    await client.aclose()


async def test_show_service_parses_seed_004() -> None:
    stub = Stub(ok(SEED_004))
    client = make(stub)
    detail = await client.show_service(SID)
    request = stub.last
    assert request.method == "GET" and request.url.path == f"{ROOT}/services/{SID}"
    assert request.content == b"" and request.url.query == b""
    assert_signed(request)
    task = "/v2/41be0da3412b4a569409dcec43983908/tasks/{task_id}"
    assert detail == ServiceDetail(
        service_id=SID,
        service_name="Edge Intrusion Detection",
        alg_id=ALG,
        alg_name="Edge Intrusion Detection",
        alg_version="1.0.1",
        alg_versions=(),
        function_version="1.0",
        pool_id="ed9f128bf7d04f5683f0ef******a255",
        request_mode="",  # only inside deployment_constraints in the example
        deploy_type="edge",
        alg_status="",  # the example carries none
        error_msg="",
        created_at=1680008856502,
        updated_at=1680004378199,
        release_at=1680004378199,
        release_flag=True,
        api="c-int******ion-edge",
        package_id="9a2423e3-02d3-4305-b491-d6******51bd",
        package_name="",
        company="",
        tags=(),
        alg_class="",
        description="",
        service_apis=(
            ServiceApi(
                "POST",
                "/v2/41be0da3412b4a569409dcec43983908/services/c-int******ion-edge/tasks",
                "create task",
            ),
            ServiceApi("GET", task, "task detail"),
            ServiceApi("GET", "/v2/41be0da3412b4a569409dcec43983908/tasks", "task list"),
            ServiceApi("DELETE", task, "delete task"),
            ServiceApi("PUT", task + "/action/start", "start task"),
            ServiceApi("PUT", task + "/action/stop", "stop task"),
        ),
        constraints=DeploymentConstraints(
            request_mode="async",
            cpu_type="x86_64",
            accelerators=(Accelerator(type="gp", name="Tnt004", cuda_version="cuda 10.2"),),
            input_types=("Restful", "VCN", "EdgeCamera"),
            output_types=("Webhook",),
            service_config=SEED_004["deployment_constraints"]["service_config"],
            task_config="<algorithm><config><common/></config></algorithm>",
        ),
    )
    assert detail.constraints is not None
    assert detail.constraints.service_config.startswith('<?xml version="1.0"')
    assert detail.changed_at == 1680008856502 and not detail.transitional
    await client.aclose()


async def test_ids_are_one_quoted_path_segment() -> None:
    stub = Stub(ok({}))
    client = make(stub)
    await client.stop("a/b c")
    assert target_of(stub.last) == f"{ROOT}/a%2Fb%20c/deploy/stop"
    assert_signed(stub.last)
    await client.deploy("é?x", stream_count=1)
    assert target_of(stub.last) == f"{ROOT}/%C3%A9%3Fx/deploy"
    await client.show_service("s/1")
    assert target_of(stub.last) == f"{ROOT}/services/s%2F1"
    assert_signed(stub.last)
    for bad in ("", "  "):
        with pytest.raises(ValueError, match="service id"):
            await client.show_service(bad)
        with pytest.raises(ValueError, match="algorithm id"):
            await client.stop(bad)
    assert stub.count == 3
    await client.aclose()


async def test_not_found_is_a_400_and_is_final() -> None:
    stub = Stub(refusal(400, "VIAS.00010002", "The object does not exist."))
    client = make(stub)
    with pytest.raises(errors.NotFound) as missing:
        await client.show_service(SID)
    assert stub.count == 1  # not retried, not "Invalid"
    assert missing.value.status == 400 and missing.value.code == "VIAS.00010002"
    assert missing.value.message == "The object does not exist."
    await client.aclose()


# -- one page ----------------------------------------------------------------------------


async def test_list_services_query() -> None:
    page = {"count": 2, "total": 57, "service_list": [summary(1), summary(2)]}
    stub = Stub(ok(page))
    client = make(stub)
    result = await client.list_services(
        page_num=3,
        page_size=50,
        alg_status=["service_running", "not_deployed", "service_running"],
        name_like="a b~c/é",
        order_by="desc",
        sort_name="function_version",
    )
    request = stub.last
    assert request.method == "GET" and request.url.path == f"{ROOT}/services/user"
    # Repeated keys, sorted on the raw pairs and encoded as the signer does (reference §2,
    # vector V1's query), and the repeat of service_running dropped.
    assert request.url.query.decode() == (
        "alg_status=not_deployed&alg_status=service_running&is_paged=true"
        "&name_like=a%20b~c%2F%C3%A9&order_by=desc&page_num=3&page_size=50"
        "&sort_name=function_version"
    )
    assert request.content == b""
    assert_signed(request)
    assert result == ServicePage(
        services=[ServiceSummary.from_api(summary(1)), ServiceSummary.from_api(summary(2))],
        count=2,
        total=57,
        page_num=3,
        page_size=50,
    )
    await client.aclose()


async def test_list_defaults() -> None:
    stub = Stub(ok({"service_list": []}))
    client = make(stub)
    page = await client.list_services()
    assert stub.last.url.query == b"is_paged=true&page_num=1&page_size=200"
    assert page.services == [] and page.total is None and page.count is None
    assert (page.page_num, page.page_size) == (1, PAGE_SIZE) == (1, 200)
    # One status as a bare string is that status (not its letters); empty name_like: unsent.
    await client.list_services(alg_status="service_failed", name_like="")
    assert query_of(stub.last) == [
        ("alg_status", "service_failed"),
        ("is_paged", "true"),
        ("page_num", "1"),
        ("page_size", "200"),
    ]
    assert_signed(stub.last)
    await client.aclose()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"page_num": 0},
        {"page_num": 10_001},
        {"page_size": 4},
        {"page_size": 201},
        {"page_num": True},
        {"page_size": 50.0},
        {"alg_status": ["running"]},
        {"alg_status": ["service_running", "SERVICE_FAILED"]},
        {"order_by": "ASC"},
        {"sort_name": "updated_at"},
    ],
)
async def test_list_refuses_what_the_api_would(kwargs: dict[str, Any]) -> None:
    stub = Stub(ok({"service_list": []}))
    client = make(stub)
    with pytest.raises(ValueError):
        await client.list_services(**kwargs)
    assert stub.count == 0
    await client.aclose()


async def test_list_accepts_every_documented_status_and_the_bounds() -> None:
    stub = Stub(ok({"service_list": [], "total": 0}))
    client = make(stub)
    await client.list_services(page_num=10_000, page_size=5, alg_status=ALG_STATUSES)
    sent = [v for k, v in query_of(stub.last) if k == "alg_status"]
    assert sent == sorted(ALG_STATUSES) and len(sent) == 9
    assert_signed(stub.last)
    await client.aclose()


# -- the full listing --------------------------------------------------------------------

Hook = Callable[[list[dict[str, Any]]], None]


def lister(
    store: list[dict[str, Any]], hooks: dict[int, Hook] | None = None, total: bool = True
) -> Callable[[httpx.Request], httpx.Response]:
    """ListUserServices over `store` (oldest first), `page_num` a page index from 1; before
    answering call n, `hooks[n]` may change the store (services deployed)."""
    calls = 0

    def answer(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if hooks and calls in hooks:
            hooks[calls](store)
        query = dict(query_of(request))
        num, size = int(query["page_num"]), int(query["page_size"])
        items = store[(num - 1) * size : num * size]
        body: dict[str, Any] = {"count": len(items), "service_list": items}
        if total:
            body["total"] = len(store)
        return httpx.Response(200, json=body)

    return answer


def pages(stub: Stub) -> list[int]:
    return [int(dict(query_of(r))["page_num"]) for r in stub.requests]


@pytest.mark.parametrize(
    ("count", "expected"),
    [(0, [1]), (5, [1]), (200, [1]), (201, [1, 2]), (400, [1, 2]), (450, [1, 2, 3])],
)
async def test_list_all_services_reads_the_pages_in_turn(count: int, expected: list[int]) -> None:
    everything = [summary(n) for n in range(count)]
    stub = Stub(lister(everything))
    client = make(stub)
    services, calls = await client.list_all_services()
    assert [s.service_id for s in services] == [s["service_id"] for s in everything]
    assert calls == stub.count == len(expected) and pages(stub) == expected
    for request in stub.requests:
        query = dict(query_of(request))
        assert query == {
            "is_paged": "true",
            "page_num": query["page_num"],
            "page_size": "200",
            "sort_name": "created_at",
            "order_by": "asc",
        }
    await client.aclose()


async def test_list_all_filters_statuses_itself_and_sends_name_like() -> None:
    statuses = ["service_running", "not_deployed", "service_failed", "service_deploying"]
    store = [summary(n, statuses[n % 4]) for n in range(450)]
    stub = Stub(lister(store))
    client = make(stub)
    services, calls = await client.list_all_services(
        alg_status=("service_running", "service_failed"), name_like="intrusion"
    )
    wanted = [
        s["service_id"] for s in store if s["alg_status"] in {"service_running", "service_failed"}
    ]
    assert [s.service_id for s in services] == wanted and calls == 3
    # A status changes under a listing: filtered by the server, a page would shift and skip.
    assert all("alg_status" not in dict(query_of(r)) for r in stub.requests)
    assert all(dict(query_of(r))["name_like"] == "intrusion" for r in stub.requests)
    with pytest.raises(ValueError):
        await client.list_all_services(alg_status=["running"])
    await client.aclose()


async def test_list_all_takes_in_services_deployed_while_it_runs() -> None:
    store = [summary(n) for n in range(350)]

    def deploy(store: list[dict[str, Any]]) -> None:
        store.extend(summary(n) for n in range(350, 460))  # appended: created_at ascending

    stub = Stub(lister(store, {2: deploy}))
    client = make(stub)
    services, calls = await client.list_all_services()
    assert [s.service_id for s in services] == [f"svc-{n:04d}" for n in range(460)]
    assert calls == 3 and pages(stub) == [1, 2, 3]
    await client.aclose()


async def test_list_all_starts_again_after_a_contradiction() -> None:
    store = [summary(n) for n in range(250)]
    first, second = store[:200], store[200:]
    answers: list[Answer] = [
        # A short page before `total`.
        ok({"total": 250, "service_list": first[:150]}),
        # No total at all.
        ok({"service_list": first}),
        # Two services swapped between the calls (created in the same millisecond): one is
        # read twice, the other never: fewer distinct services than `total`.
        ok({"total": 250, "service_list": first}),
        ok({"total": 250, "service_list": [first[-1], *second[1:]], "count": 50}),
    ]
    stub = Stub(*answers, lister(store))
    client = make(stub)
    with pytest.raises(ListingInconsistent, match="249 services read, total says 250"):
        await client.list_all_services()
    assert stub.count == 4  # three passes: 1, 1, 2 calls
    services, calls = await client.list_all_services()
    assert [s.service_id for s in services] == [s["service_id"] for s in store]
    assert calls == 2
    await client.aclose()


async def test_list_all_raises_when_page_num_is_ignored() -> None:
    """A server that ignores `page_num` answers the first page again and again: never
    taken for a complete listing."""
    stub = Stub(ok({"total": 450, "service_list": [summary(n) for n in range(200)]}))
    client = make(stub)
    with pytest.raises(ListingInconsistent) as raised:
        await client.list_all_services()
    assert stub.count == 3 * LIST_PASSES  # pages 1, 2, 3 on each attempt
    assert "200 services read, total says 450" in str(raised.value)
    assert isinstance(raised.value, errors.ServerError)
    assert raised.value.transient and not raised.value.terminal
    assert raised.value.cloud == "huawei-vias" and raised.value.operation == "ListUserServices"
    await client.aclose()


async def test_list_all_raises_without_a_total_or_with_too_many_services() -> None:
    stub = Stub(lister([summary(0)], total=False))
    client = make(stub)
    with pytest.raises(ListingInconsistent, match="without total"):
        await client.list_all_services()
    assert stub.count == LIST_PASSES
    # More distinct services than `total`: one vanished (VIAS deletes none), so a page may
    # have moved under the read: nothing can be vouched for.
    more = Stub(ok({"total": 2, "service_list": [summary(0), summary(1), summary(2)]}))
    client = make(more)
    with pytest.raises(ListingInconsistent, match="3 services read, total says 2"):
        await client.list_all_services()
    await client.aclose()


async def test_list_all_errors_propagate() -> None:
    stub = Stub(refusal(401, "APIGW.0301", "Incorrect IAM authentication information"))
    client = make(stub, policy=RetryPolicy(attempts=1))
    with pytest.raises(errors.AuthFailed):
        await client.list_all_services()
    assert stub.count == 1
    await client.aclose()


async def test_list_pages_are_retried_on_server_errors() -> None:
    stub = Stub(refusal(500, "VIAS.00010009"), lister([summary(0)]))
    client = make(stub)
    services, calls = await client.list_all_services()
    assert [s.service_id for s in services] == ["svc-0000"]
    assert calls == 1 and stub.count == 2  # the transport's retry is not a List call of ours
    await client.aclose()


# -- authentication ----------------------------------------------------------------------


async def test_temporary_keys_sign_the_security_token() -> None:
    stub = Stub(ok({"service_list": [], "total": 0}))
    client = make(stub, TEMPORARY)
    await client.list_services(alg_status=["service_running", "not_deployed"])
    request = stub.last
    assert request.headers["x-security-token"] == STS
    assert "x-security-token" in signed_names(request.headers["authorization"])
    assert_signed(request, TEMPORARY)
    await client.aclose()


async def test_iam_token_is_sent_as_x_auth_token() -> None:
    stub = Stub(ok({"alg_name": "a"}))
    client = make(stub, TOKEN)
    await client.deploy(ALG, stream_count=1)
    request = stub.last
    assert request.headers["x-auth-token"] == IAM
    assert "authorization" not in request.headers
    assert request.headers["x-project-id"] == PID
    assert request.headers["content-type"] == "application/json"
    await client.aclose()


async def test_rotated_credentials_apply_to_the_next_request() -> None:
    stub = Stub(ok(SEED_004))
    client = make(stub, TOKEN)
    await client.show_service(SID)
    client.set_credentials(KEYS)
    await client.show_service(SID)
    first, second = stub.requests
    assert "x-auth-token" in first.headers and "authorization" not in first.headers
    assert_signed(second)
    await client.aclose()


async def test_secrets_stay_out_of_reprs_and_errors() -> None:
    for creds in (KEYS, TEMPORARY, TOKEN):
        stub = Stub(refusal(401, "VIAS.00010005", "authorization failed"))
        client = make(stub, creds)
        text = repr(client)
        assert "ViasClient(" in text and PID in text
        for secret in (SK, STS, IAM):
            assert secret not in text
        with pytest.raises(errors.AuthFailed) as refused:
            await client.show_service(SID)
        shown = str(refused.value) + repr(refused.value) + repr(vars(refused.value))
        for secret in (SK, STS, IAM):
            assert secret not in shown
        await client.aclose()


# -- errors ------------------------------------------------------------------------------

GATEWAY_403 = {
    "error": {"code": "403", "message": "Forbidden", "title": "Forbidden"},
    "error_code": 403,
    "error_msg": "Forbidden",
    "title": "Forbidden",
}


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (400, "VIAS.00010002", errors.NotFound),  # not-found is a 400 here
        (404, "VIAS.00010002", errors.NotFound),  # the code decides, whatever the status
        (400, "VIAS.00010003", errors.Conflict),
        (400, "VIAS.00010001", errors.Invalid),
        (400, "VIAS.00010004", errors.Invalid),
        (401, "VIAS.00010005", errors.AuthFailed),
        (500, "VIAS.00010006", errors.ServerError),
        (500, "VIAS.00010009", errors.ServerError),
        (400, "VIAS.00010006", errors.ServerError),  # "internal error" is never final
        (401, "APIGW.0301", errors.AuthFailed),
        (401, "APIG.0301", errors.AuthFailed),
        (401, "APIG.1002", errors.AuthFailed),
        (401, "APIGW.0307", errors.AuthFailed),
        (401, "VIAS.00019999", errors.AuthFailed),  # any code on a 401
        (429, "APIGW.0308", errors.Throttled),
        (429, "VIAS.00010006", errors.Throttled),  # throttling wins
        (400, "VIAS.00019999", errors.Unrecognised),  # unknown: retried later, not final
        (502, "VIAS.00019999", errors.ServerError),
    ],
)
async def test_errors_are_classified(status: int, code: str, kind: type[errors.CloudError]) -> None:
    stub = Stub(refusal(status, code, "the message"))
    client = make(stub, policy=RetryPolicy(attempts=1))
    with pytest.raises(errors.CloudError) as raised:
        await client.stop(ALG)
    error = raised.value
    assert type(error) is kind
    assert (error.status, error.code, error.message) == (status, code, "the message")
    assert error.request_id == "req-42"
    assert error.cloud == "huawei-vias" and error.operation == "StopDeployAlgorithm"
    await client.aclose()


@pytest.mark.parametrize(
    ("answer", "kind", "code"),
    [
        (httpx.Response(403, json=GATEWAY_403), errors.Forbidden, "403"),
        (httpx.Response(404, text="<html>no such route</html>"), errors.ServerError, ""),
        (httpx.Response(400, json={"unexpected": True}), errors.ServerError, ""),
    ],
)
async def test_answers_without_a_vias_code(
    answer: httpx.Response, kind: type[errors.CloudError], code: str
) -> None:
    stub = Stub(answer)
    client = make(stub, policy=RetryPolicy(attempts=1))
    with pytest.raises(errors.CloudError) as raised:
        await client.show_service(SID)
    assert type(raised.value) is kind and raised.value.code == code
    await client.aclose()


async def test_invalid_and_conflict_are_not_retried() -> None:
    for code, kind in (
        ("VIAS.00010001", errors.Invalid),
        ("VIAS.00010004", errors.Invalid),
        ("VIAS.00010003", errors.Conflict),
    ):
        stub = Stub(refusal(400, code))
        client = make(stub)
        with pytest.raises(kind) as raised:
            await client.show_service(SID)
        assert stub.count == 1
        assert raised.value.terminal == (kind is errors.Invalid)
        await client.aclose()


async def test_reads_are_retried_on_server_errors_and_dropped_connections() -> None:
    stub = Stub(
        refusal(500, "VIAS.00010006"),
        httpx.Response(503, text="<html>bad gateway</html>"),
        ok(SEED_004),
    )
    client = make(stub)
    detail = await client.show_service(SID)
    assert detail.service_id == SID and stub.count == 3
    await client.aclose()


async def test_throttling_honours_retry_after() -> None:
    stub = Stub(refusal(429, "APIGW.0308", "throttled", **{"Retry-After": "60"}))
    client = make(stub)
    with pytest.raises(errors.Throttled) as throttled:
        await client.list_services()
    assert throttled.value.retry_after == 60 and stub.count == 1
    await client.aclose()


def test_the_table_directly() -> None:
    assert type(TABLE.classify(500, "VIAS.00010006", "m", 5.0)) is errors.Throttled
    assert type(TABLE.classify(500, "VIAS.00010009", "m", None)) is errors.ServerError
    assert type(TABLE.classify(400, "VIAS.00010002", "m", None)) is errors.NotFound
    assert type(TABLE.classify(400, "APIGW.0308", "m", None)) is errors.Throttled
    assert TABLE.classify(500, "VIAS.00010006", "m", None).transient


# -- the query with repeated keys ----------------------------------------------------------


def test_repeated_query_parameters() -> None:
    request = HuaweiRequest(
        "ListUserServices",
        "GET",
        "/p",
        {"page_num": "1", "name_like": "a b"},
        None,
        True,
        {"alg_status": ("service_running", "not_deployed")},
    )
    assert request.encoded_query() == (
        "alg_status=not_deployed&alg_status=service_running&name_like=a%20b&page_num=1"
    )
    # Without repeated parameters, what it always was.
    plain = HuaweiRequest("Op", "GET", "/p", {"b": "2", "a": "x/y"})
    assert plain.repeated == {} and plain.encoded_query() == "a=x%2Fy&b=2"
    with pytest.raises(ValueError, match="both once and repeated"):
        HuaweiRequest("Op", "GET", "/p", {"k": "1"}, repeated={"k": ("2",)})
    # The reference's vector V1 (a real SDK signature) through the same canonical query.
    creds = Credentials(access_key_id="AK-ID", access_key_secret=SecretStr("SK-SECRET"))
    signed = huawei_signer.sign(
        "GET",
        "127.0.0.1:8080",
        "/v2/p1/algorithm/services/user",
        HuaweiRequest(
            "ListUserServices",
            "GET",
            "/v2/p1/algorithm/services/user",
            {"is_paged": "true", "page_size": "10", "name_like": "a b~c/é"},
            repeated={"alg_status": ("service_running", "not_deployed")},
        ).query_params(),
        None,
        creds,
        project_id="p1",
        headers={"User-Agent": "ua"},
        now=datetime(2024, 1, 1, tzinfo=UTC),
    )
    assert signed.headers["Authorization"].endswith(
        "Signature=ee3cb436dc8c00dccfd7d8c5851951284225516f3afcae540340376c74a72b2b"
    )


# -- models ------------------------------------------------------------------------------


def test_models_tolerate_missing_unknown_and_mistyped_fields() -> None:
    listed = ServiceSummary.from_api(
        {
            "alg_id": "a",
            "service_id": "s",
            "alg_status": "service_deploying",
            "created_at": "1680008856502",
            "tags": ["x", None, 3, {"k": 1}, True],
            "can_update": "true",
            "description": None,
            "new_field": {"nested": [1]},
        }
    )
    assert listed.transitional and listed.created_at == 1680008856502
    assert listed.tags == ("x", "3") and listed.can_update is True and listed.description == ""
    assert ServiceSummary.from_api({"can_update": "maybe"}).can_update is None
    assert ServiceSummary.from_api({"can_update": False}).can_update is False
    empty = ServiceSummary.from_api({})
    assert (empty.alg_id, empty.service_id, empty.created_at, empty.tags) == ("", "", None, ())

    odd = ServiceDetail.from_api(
        {
            "service_id": 7,
            "created_at": 1.68e12,
            "updated_at": "2023-03-28T12:27:36.502Z",
            "release_at": True,
            "release_flag": "yes",
            "alg_versions": "1.0",
            "service_api_list": [{"request_type": "GET", "zh": "列表"}, "junk", None],
            "deployment_constraints": {
                "accelerators": [{"type": "npu", "driver_version_section": "23.0"}, 1],
                "input_types": None,
            },
        }
    )
    assert odd.service_id == "7" and odd.created_at == 1_680_000_000_000
    assert odd.updated_at == 1680006456502 and odd.release_at is None
    assert odd.release_flag is None and odd.alg_versions == ()
    assert odd.service_apis == (ServiceApi("GET", "", "列表"),)  # `zh` when there is no `en`
    assert odd.constraints == DeploymentConstraints(
        accelerators=(Accelerator(type="npu", driver_version_section="23.0"),)
    )
    assert ServiceDetail.from_api({"deployment_constraints": "x"}).constraints is None
    assert ServiceDetail.from_api({}).constraints is None
    assert ServiceDetail.from_api({}).changed_at == 0
    assert ServiceDetail.from_api({"created_at": float("inf")}).created_at is None

    page = ServicePage.from_api(
        {"count": "2", "total": None, "service_list": [summary(1), "junk"]}, 2, 5
    )
    assert page.count == 2 and page.total is None and len(page.services) == 1
    assert ServicePage.from_api({"service_list": {"not": "a list"}}, 1, 5).services == []


# -- the official core as the request oracle -----------------------------------------------

DATE = "20240101T000000Z"
REAL = default_endpoint("cn-north-4")


@pytest.fixture
def oracle(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> str:
    """Ours and the core's requests made comparable byte for byte: the same X-Sdk-Date (the
    core reuses one given; ours is pinned), and the same User-Agent (the core always puts
    its own product token first; ours is sent after it, and ours sends that whole text)."""
    monkeypatch.setenv("HOME", str(tmp_path))  # the SDK keeps an application id there
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    agent = f"huaweicloud-usdk-python/3.0; {USER_AGENT}"
    monkeypatch.setattr(huawei_requests, "USER_AGENT", agent)
    monkeypatch.setattr(huawei_signer, "date_stamp", lambda now=None: DATE)
    return agent


DEPLOY_BODY: dict[str, Any] = {
    "pool_id": "ed9f128bf7d04f5683f0ef******a255",
    "stream_count": 16,
    "deploy_config": {"sub_scene": "common", "rois": [[0, 0], [1, 1]], "on": True},
    "envs": {"LOG_LEVEL": "debug", "NOTE": "é ü"},
}

Call = Callable[[ViasClient], Any]

ORACLES: list[tuple[str, str, str, dict[str, str], list[tuple[str, Any]], Any, Call]] = [
    (
        "deploy",
        "POST",
        "/v2/{project_id}/algorithm/{alg_id}/deploy",
        {"alg_id": "a/b c"},
        [],
        DEPLOY_BODY,
        lambda c: c.deploy("a/b c", **DEPLOY_BODY),
    ),
    (
        "stop",
        "PUT",
        "/v2/{project_id}/algorithm/{alg_id}/deploy/stop",
        {"alg_id": ALG},
        [],
        None,
        lambda c: c.stop(ALG),
    ),
    (
        "show",
        "GET",
        "/v2/{project_id}/algorithm/services/{service_id}",
        {"service_id": "x y/z"},
        [],
        None,
        lambda c: c.show_service("x y/z"),
    ),
    (
        "list",
        "GET",
        "/v2/{project_id}/algorithm/services/user",
        {},
        [
            ("name_like", "a b~c/é"),
            ("is_paged", True),
            ("page_size", 50),
            ("page_num", 2),
            ("order_by", "asc"),
            ("sort_name", "created_at"),
            ("alg_status", ["service_running", "not_deployed", "service_failed"]),
        ],
        None,
        lambda c: c.list_services(
            page_num=2,
            page_size=50,
            alg_status=["service_running", "not_deployed", "service_failed"],
            name_like="a b~c/é",
            order_by="asc",
            sort_name="created_at",
        ),
    ),
]


@pytest.mark.parametrize(
    ("name", "method", "path", "path_params", "query", "body", "ours"),
    ORACLES,
    ids=[o[0] for o in ORACLES],
)
async def test_requests_match_the_official_core_byte_for_byte(
    oracle: str,
    name: str,
    method: str,
    path: str,
    path_params: dict[str, str],
    query: list[tuple[str, Any]],
    body: Any,
    ours: Call,
) -> None:
    """The core's generic `call_api` (as a generated VIAS client would call it: list
    parameters in the "multi" collection format) and our client send the same method, path,
    query, signed headers and signature. The body is handed to the core as the bytes we
    send, because its JSON has spaces after `,` and `:` (a body hash of its own); given as
    an object it is the same JSON, checked apart."""
    stub = Stub(ok({"alg_name": "n", "alg_id": ALG, "service_id": SID, "total": 0}))
    client = make(stub, endpoint=None)
    try:
        await ours(client)
    finally:
        await client.aclose()
    sent = stub.last
    expected = sdk.captured_call_api(
        sdk.credentials(AK, SK, PID),
        method,
        path,
        endpoint=REAL,
        path_params=path_params,
        query_params=query,
        header_params={"User-Agent": USER_AGENT, "X-Sdk-Date": DATE},
        body=None if body is None else sent.content.decode(),
        collection_formats={"alg_status": "multi"},
    )
    assert sent.method == expected.method == method
    assert target_of(sent) == expected.uri
    theirs = {k.lower(): sdk.wire_text(str(v)) for k, v in expected.header_params.items()}
    mine = {k.lower(): v for k, v in sent.headers.items() if k.lower() not in TRANSPORT_HEADERS}
    assert mine == theirs  # names and values: Host, Content-Type, ..., Authorization
    assert mine["user-agent"] == oracle and mine["x-sdk-date"] == DATE
    assert signed_names(mine["authorization"]) == (
        "content-type;host;user-agent;x-project-id;x-sdk-date"
    )
    if body is None:
        assert sent.content == b"" and not expected.body
        return
    assert sent.content == expected.body
    # Given the body as an object, the core writes the same JSON (keys in the same order).
    as_object = sdk.captured_call_api(
        sdk.credentials(AK, SK, PID),
        method,
        path,
        endpoint=REAL,
        path_params=path_params,
        header_params={"User-Agent": USER_AGENT, "X-Sdk-Date": DATE},
        body=body,
    )
    assert list(json.loads(as_object.body).items()) == list(json.loads(sent.content).items())
    assert as_object.uri == expected.uri
