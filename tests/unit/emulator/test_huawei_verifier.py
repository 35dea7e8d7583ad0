"""The emulator's Huawei verifier (its own implementation) accepts what huaweicloudsdkcore's
Signer produces and what the operator's signer produces, and answers tampering, wrong or
unknown keys, stale dates and missing credentials with the gateway's 401 APIGW.0301 — also
over the wire, through the emulator's request pipeline, with the official SDK client."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from cloudinfer.clouds.huawei import signer as ours
from cloudinfer.credentials import Credentials
from cloudinfer.emulator.calls import CallLog
from cloudinfer.emulator.faults import Faults
from cloudinfer.emulator.huawei.verifier import (
    AccessKey,
    GatewayError,
    HuaweiCaller,
    HuaweiVerifier,
)
from cloudinfer.emulator.pipeline import ApiError, Dialect, Pipeline, Reply
from tests.unit.clouds.huawei.sdk import (
    Raw,
    ServiceResponseException,
    credentials,
    sdk_client,
    sdk_sign,
)

NOW = datetime(2024, 1, 1, tzinfo=UTC)
DATE = NOW.strftime("%Y%m%dT%H%M%SZ")
HOST = "127.0.0.1:8080"
KEY = AccessKey("AK-1", "secret-1", account="acct-1")
STS_KEY = AccessKey("STS-AK", "sts-secret", security_token="sts-token+/=", account="acct-2")
OURS = Credentials(access_key_id="AK-1", access_key_secret=SecretStr("secret-1"))
OURS_STS = Credentials(
    access_key_id="STS-AK",
    access_key_secret=SecretStr("sts-secret"),
    security_token=SecretStr("sts-token+/="),
)


def verifier(clock: float | None = None) -> HuaweiVerifier:
    at = NOW.timestamp() if clock is None else clock
    return HuaweiVerifier([KEY, STS_KEY], tokens={"iam-token-1": "acct-3"}, clock=lambda: at)


def as_received(headers: Mapping[str, str]) -> dict[str, list[str]]:
    return {k.lower(): [v] for k, v in headers.items()}


def split(uri: str) -> tuple[str, str]:
    path, _, query = uri.partition("?")
    return path, query


def refused(call: Any) -> GatewayError:
    with pytest.raises(GatewayError) as raised:
        call()
    assert raised.value.status == 401 and raised.value.code == "APIGW.0301"
    return raised.value


# -- requests signed by the official SDK --------------------------------------------------

SDK_CASES: list[tuple[str, str, list[tuple[str, Any]], dict[str, str], bytes | None]] = [
    (
        "GET",
        "/v2/p1/algorithm/services/user",
        [
            ("alg_status", "service_running"),
            ("alg_status", "not_deployed"),
            ("is_paged", True),
            ("page_size", 10),
            ("name_like", "a b~c/é"),
        ],
        {"Content-Type": "application/json", "User-Agent": "ua"},
        None,
    ),
    ("DELETE", "/v1/p1/services/id-1%2Cid-2", [], {"Content-Type": "application/json"}, None),
    (
        "GET",
        "/v1/p1/services/a%20b%2Fc%3Ad%40e~f/events",
        [("event_type", "abnormal"), ("name", ""), ("x", "模型 +&=")],
        {"Content-Type": "application/json", "X_Unsigned": "u"},
        None,
    ),
    (
        "POST",
        "/v1/p1/services",
        [],
        {"Content-Type": "application/json"},
        '{"service_name": "模型", "infer_type": "real-time"}'.encode(),
    ),
    ("PUT", "/v1/p1/x", [], {"Content-Type": "application/octet-stream"}, b"\x00\xffbytes"),
    ("GET", "/v1/p1/x/", [], {"Content-Type": "text/plain"}, None),
]


@pytest.mark.parametrize(("method", "path", "query", "headers", "body"), SDK_CASES)
def test_accepts_the_sdk_signer(
    method: str,
    path: str,
    query: list[tuple[str, Any]],
    headers: dict[str, str],
    body: bytes | None,
) -> None:
    sent, uri = sdk_sign(method, HOST, path, query, headers, body, credentials("AK-1", "secret-1"))
    raw_path, raw_query = split(uri)
    caller = verifier().verify(method, raw_path, raw_query, as_received(sent), body or b"")
    assert caller == HuaweiCaller("acct-1", "AK-1", "p1")


def test_accepts_the_sdk_signer_with_a_security_token() -> None:
    creds = credentials("STS-AK", "sts-secret", "p9", "sts-token+/=")
    sent, uri = sdk_sign("GET", HOST, "/v1/p9/services", [("limit", 1)], {}, None, creds)
    caller = verifier().verify("GET", *split(uri), as_received(sent), b"")
    assert caller == HuaweiCaller("acct-2", "STS-AK", "p9")


# -- requests signed by the operator's signer ---------------------------------------------


def our_request(
    method: str = "POST",
    path: str = "/v1/p1/services",
    query: Any = None,
    body: bytes | None = b'{"service_name": "svc"}',
    creds: Credentials = OURS,
    when: datetime = NOW,
    **kwargs: Any,
) -> tuple[dict[str, list[str]], str]:
    signed = ours.sign(method, HOST, path, query, body, creds, project_id="p1", now=when, **kwargs)
    return as_received(signed.headers), signed.query


def test_accepts_the_operator_signer() -> None:
    headers, query = our_request(query={"a": "x y", "b": [True, False]})
    v = verifier()
    assert v.verify("POST", "/v1/p1/services", query, headers, b'{"service_name": "svc"}') == (
        HuaweiCaller("acct-1", "AK-1", "p1")
    )
    headers, query = our_request(method="GET", body=None, creds=OURS_STS)
    assert v.verify("GET", "/v1/p1/services", query, headers, b"").account == "acct-2"


def test_accepts_form_encoded_queries() -> None:
    """What the shared transport sends (`urlencode`: space as `+`) verifies too."""
    params = {"service_name": "a b/c~é", "limit": "10"}
    headers, _ = our_request(method="GET", body=None, query=params)
    verifier().verify("GET", "/v1/p1/services", urlencode(params), headers, b"")


# -- refusals -------------------------------------------------------------------------------


def test_refuses_tampering() -> None:
    v = verifier()
    headers, query = our_request(query={"limit": 10})
    body = b'{"service_name": "svc"}'
    v.verify("POST", "/v1/p1/services", query, headers, body)
    refused(lambda: v.verify("POST", "/v1/p1/services", query, headers, b'{"service_name": "x"}'))
    refused(lambda: v.verify("POST", "/v1/p1/services", "limit=11", headers, body))
    refused(lambda: v.verify("POST", "/v1/p2/services", query, headers, body))
    refused(lambda: v.verify("PUT", "/v1/p1/services", query, headers, body))
    swapped = {**headers, "x-project-id": ["p2"]}
    refused(lambda: v.verify("POST", "/v1/p1/services", query, swapped, body))
    auth = headers["authorization"][0]
    flipped = auth[:-1] + ("0" if auth[-1] != "0" else "1")
    error = refused(
        lambda: v.verify(
            "POST", "/v1/p1/services", query, {**headers, "authorization": [flipped]}, body
        )
    )
    assert error.message == "Incorrect IAM authentication information: verify aksk signature fail"


def test_refuses_wrong_and_unknown_keys() -> None:
    v = verifier()
    wrong = Credentials(access_key_id="AK-1", access_key_secret=SecretStr("not-the-secret"))
    headers, query = our_request(creds=wrong)
    refused(lambda: v.verify("POST", "/v1/p1/services", query, headers, b'{"service_name": "svc"}'))
    unknown = Credentials(access_key_id="AK-404", access_key_secret=SecretStr("secret-1"))
    headers, query = our_request(creds=unknown)
    error = refused(
        lambda: v.verify("POST", "/v1/p1/services", query, headers, b'{"service_name": "svc"}')
    )
    assert "Get secretKey failed" in error.message


def test_temporary_keys_need_their_security_token() -> None:
    v = verifier()
    no_token = Credentials(access_key_id="STS-AK", access_key_secret=SecretStr("sts-secret"))
    headers, query = our_request(method="GET", body=None, creds=no_token)
    refused(lambda: v.verify("GET", "/v1/p1/services", query, headers, b""))
    headers, query = our_request(method="GET", body=None, creds=OURS_STS)
    headers["x-security-token"] = ["another-token"]
    refused(lambda: v.verify("GET", "/v1/p1/services", query, headers, b""))


@pytest.mark.parametrize(
    ("skew", "accepted"),
    [
        (timedelta(minutes=14, seconds=59), True),
        (timedelta(minutes=-14, seconds=-59), True),
        (timedelta(minutes=16), False),
        (timedelta(minutes=-16), False),
        (timedelta(days=1), False),
    ],
)
def test_date_window_is_fifteen_minutes(skew: timedelta, accepted: bool) -> None:
    headers, query = our_request(method="GET", body=None, when=NOW + skew)
    v = verifier()
    if accepted:
        v.verify("GET", "/v1/p1/services", query, headers, b"")
    else:
        error = refused(lambda: v.verify("GET", "/v1/p1/services", query, headers, b""))
        assert "signature expired" in error.message


def test_the_date_must_be_signed_and_well_formed() -> None:
    v = verifier()
    headers, query = our_request(method="GET", body=None)
    unsigned = headers["authorization"][0].replace(";x-sdk-date", "")
    refused(
        lambda: v.verify(
            "GET", "/v1/p1/services", query, {**headers, "authorization": [unsigned]}, b""
        )
    )
    refused(
        lambda: v.verify(
            "GET", "/v1/p1/services", query, {**headers, "x-sdk-date": ["2024-01-01"]}, b""
        )
    )


def test_declared_body_hash_must_match() -> None:
    v = verifier()
    body = b"payload"
    headers, query = our_request(
        method="PUT", body=body, headers={"Content-Type": "application/octet-stream"}
    )
    assert headers["x-sdk-content-sha256"] == ["UNSIGNED-PAYLOAD"]
    v.verify("PUT", "/v1/p1/services", query, headers, body)
    declared = {"X-Sdk-Content-Sha256": hashlib.sha256(body).hexdigest()}
    headers, query = our_request(method="PUT", body=body, headers=declared)
    v.verify("PUT", "/v1/p1/services", query, headers, body)  # a true hash stands for the body
    headers, query = our_request(
        method="PUT", body=body, headers={"X-Sdk-Content-Sha256": "0" * 64}
    )
    error = refused(lambda: v.verify("PUT", "/v1/p1/services", query, headers, body))
    assert "x-sdk-content-sha256" in error.message


def test_missing_or_malformed_credentials() -> None:
    v = verifier()
    error = refused(lambda: v.verify("GET", "/v1/p1/services", "", {}, b""))
    assert error.message.endswith("x-auth-token not found")
    refused(
        lambda: v.verify(
            "GET", "/v1/p1/services", "", {"authorization": ["SDK-HMAC-SHA256 Access=AK-1"]}, b""
        )
    )
    refused(
        lambda: v.verify(
            "GET",
            "/v1/p1/services",
            "",
            {
                "authorization": [
                    "V11-HMAC-SHA256 Credential=AK-1/x, SignedHeaders=host, Signature=00"
                ]
            },
            b"",
        )
    )


def test_iam_tokens() -> None:
    v = verifier()
    sent = ours.token_auth(None, Credentials(iam_token=SecretStr("iam-token-1")), project_id="p1")
    assert v.verify("GET", "/v1/p1/services", "", as_received(sent.headers), b"") == (
        HuaweiCaller("acct-3", None, "p1")
    )
    error = refused(
        lambda: v.verify("GET", "/v1/p1/services", "", {"x-auth-token": ["forged"]}, b"")
    )
    assert error.message.endswith("decrypt token fail")


def test_the_gateway_body_shape() -> None:
    error = refused(lambda: verifier().verify("GET", "/", "", {}, b""))
    assert error.body("req-1") == {
        "error_code": "APIGW.0301",
        "error_msg": "Incorrect IAM authentication information: x-auth-token not found",
        "request_id": "req-1",
    }


_text = st.text(st.characters(codec="utf-8"), max_size=10)


@settings(max_examples=150, deadline=None)
@given(
    query=st.lists(st.tuples(st.text("abc_~-", min_size=1, max_size=4), _text), max_size=6),
    segment=_text,
    body=st.binary(max_size=32),
)
def test_random_sdk_requests_verify(
    query: list[tuple[str, str]], segment: str, body: bytes
) -> None:
    path = "/v1/p1/services/" + quote(segment, safe="")
    sent, uri = sdk_sign(
        "POST",
        HOST,
        path,
        query,
        {"Content-Type": "application/json"},
        body,
        credentials("AK-1", "secret-1"),
    )
    v = verifier()
    v.verify("POST", *split(uri), as_received(sent), body)
    refused(lambda: v.verify("POST", *split(uri), as_received(sent), body + b"!"))


# -- over the wire: the official SDK client and httpx, through the pipeline --------------


def _error(exc: ApiError, request_id: str) -> web.Response:
    body: dict[str, str] = (
        exc.body(request_id)
        if isinstance(exc, GatewayError)
        else {"error_code": exc.code, "error_msg": exc.message}
    )
    return web.json_response(
        body, status=exc.status, headers={"X-Request-Id": request_id, **exc.headers}
    )


def _ok(reply: Reply, request_id: str) -> web.Response:
    return web.json_response(
        reply.body, status=reply.status, headers={"X-Request-Id": request_id, **reply.headers}
    )


DIALECT = Dialect(
    cloud="huawei-test",
    error=_error,
    ok=_ok,
    throttle=lambda seconds: ApiError(429, "APIG.0308", "throttled", {"Retry-After": str(seconds)}),
    target=lambda request, body: "",
)


async def _echo(request: web.Request, caller: HuaweiCaller) -> dict[str, Any]:
    return {
        "account": caller.account,
        "project": caller.project_id,
        "path": request.raw_path,
        "body": (await request.read()).decode("utf-8", "replace"),
    }


@pytest.fixture
async def server(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[str, CallLog]]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    calls = CallLog()
    v = HuaweiVerifier([KEY, STS_KEY], clock=time.time)
    pipeline = Pipeline(DIALECT, v.check, Faults(), calls)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", pipeline.route("Any", _echo))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}", calls
    finally:
        await runner.cleanup()


def sdk_call(endpoint: str, creds: Any, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    client = sdk_client(endpoint, creds)
    answer = client.do_http_request(
        method,
        path,
        path_params=kwargs.get("path_params", {}),
        query_params=kwargs.get("query_params", []),
        header_params=kwargs.get("header_params", {}),
        body=kwargs.get("body"),
        response_type=Raw,
        collection_formats=kwargs.get("collection_formats", {}),
    )
    result: dict[str, Any] = json.loads(answer.raw_content)
    return result


async def test_sdk_client_over_the_wire(server: tuple[str, CallLog]) -> None:
    endpoint, calls = server
    creds = credentials("AK-1", "secret-1", "p1")
    got = await asyncio.to_thread(
        sdk_call,
        endpoint,
        creds,
        "GET",
        "/v1/{project_id}/services/{service_id}/events",
        path_params={"service_id": "a b/c:模型"},
        query_params=[("event_type", ["abnormal", "normal"]), ("q", "x y+z/é"), ("b", True)],
        collection_formats={"event_type": "multi"},
        header_params={"X-Language": "  zh-cn é模型  "},
    )
    assert got["account"] == "acct-1" and got["project"] == "p1"
    assert got["path"].startswith("/v1/p1/services/a%20b%2Fc%3A%E6%A8%A1%E5%9E%8B/events?")
    posted = await asyncio.to_thread(
        sdk_call,
        endpoint,
        credentials("STS-AK", "sts-secret", "p1", "sts-token+/="),
        "POST",
        "/v1/{project_id}/services",
        body={"service_name": "模型", "config": [{"weight": 100}]},
    )
    assert posted["account"] == "acct-2" and json.loads(posted["body"])["service_name"] == "模型"
    deleted = await asyncio.to_thread(
        sdk_call,
        endpoint,
        creds,
        "DELETE",
        "/v1/{project_id}/services/{service_id}",
        path_params={"service_id": "id-1,id-2"},
    )
    assert deleted["account"] == "acct-1"
    assert [c.status for c in calls.calls] == [200, 200, 200]


async def test_sdk_client_sees_the_gateway_refusal(server: tuple[str, CallLog]) -> None:
    endpoint, calls = server
    with pytest.raises(ServiceResponseException) as raised:
        await asyncio.to_thread(
            sdk_call,
            endpoint,
            credentials("AK-1", "wrong", "p1"),
            "GET",
            "/v1/{project_id}/services",
        )
    error = raised.value
    assert error.status_code == 401 and error.error_code == "APIGW.0301"
    assert error.error_msg.startswith("Incorrect IAM authentication information")
    assert error.request_id  # from the X-Request-Id header
    assert calls.calls[-1].code == "APIGW.0301" and calls.calls[-1].account == ""


async def test_operator_signer_over_httpx(server: tuple[str, CallLog]) -> None:
    endpoint, _ = server
    host = endpoint.removeprefix("http://")
    path = "/v1/p1/services/" + "a%20b%2Fc"
    body = b'{"status": "stopped"}'
    signed = ours.sign(
        "PUT",
        host,
        path,
        [("tags", ["b", "a"]), ("name", "模型 x/y~"), ("flag", False)],
        body,
        OURS,
        project_id="p1",
        headers={"User-Agent": "cloudinfer-test"},
    )
    async with httpx.AsyncClient(trust_env=False) as http:
        answer = await http.request(
            "PUT", endpoint + signed.target(path), headers=signed.headers, content=body
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["account"] == "acct-1"
        stale = ours.sign(
            "GET", host, path, None, None, OURS, now=datetime.now(UTC) - timedelta(minutes=20)
        )
        refusal = await http.get(endpoint + path, headers=stale.headers)
    assert refusal.status_code == 401
    assert refusal.json()["error_code"] == "APIGW.0301"
    assert refusal.json()["request_id"] == refusal.headers["X-Request-Id"]
