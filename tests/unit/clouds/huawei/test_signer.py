"""Our SDK-HMAC-SHA256 signer sends exactly what huaweicloudsdkcore's Signer sends: the same
headers (Authorization included) and the same URI, on a table of requests, on what a real SDK
client call assembles, on random queries, and on the reference's three test vectors."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from cloudinfer.clouds.huawei import signer
from cloudinfer.credentials import Credentials
from tests.unit.clouds.huawei.sdk import captured_call, credentials, sdk_sign

NOW = datetime(2024, 1, 1, tzinfo=UTC)
HOST = "modelarts.cn-north-4.myhuaweicloud.com"
KEY = Credentials(access_key_id="AK-TEST-ID", access_key_secret=SecretStr("s3cr3t/+=SK"))
STS = Credentials(
    access_key_id="STS-AK",
    access_key_secret=SecretStr("sts-secret"),
    security_token=SecretStr("gQpjbi1ub3J0aC00+/token=="),
)
TOKEN = Credentials(iam_token=SecretStr("MIIT-iam-token"))
UA = {"User-Agent": "cloudinfer/0.1.0"}


def sdk_credentials(creds: Credentials, project_id: str | None) -> Any:
    assert creds.access_key_id and creds.access_key_secret
    token = creds.security_token.get_secret_value() if creds.security_token else None
    return credentials(
        creds.access_key_id, creds.access_key_secret.get_secret_value(), project_id, token
    )


def copy_query(query: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """The query as the SDK client hands it to the Signer: `None` values dropped (the
    client's _post_process_params), lists copied (the Signer sorts them in place)."""
    return [(k, list(v) if isinstance(v, list) else v) for k, v in query if v is not None]


# -- the reference's test vectors ------------------------------------------------------------

VECTOR_KEY = Credentials(access_key_id="AK-ID", access_key_secret=SecretStr("SK-SECRET"))
V1_QUERY: list[tuple[str, Any]] = [
    ("alg_status", "service_running"),
    ("alg_status", "not_deployed"),
    ("is_paged", True),
    ("page_size", 10),
    ("name_like", "a b~c/é"),
]
V1_CANONICAL = (
    "GET\n/v2/p1/algorithm/services/user/\n"
    "alg_status=not_deployed&alg_status=service_running&is_paged=true"
    "&name_like=a%20b~c%2F%C3%A9&page_size=10\n"
    "content-type:application/json\nhost:127.0.0.1:8080\nuser-agent:ua\nx-project-id:p1\n"
    "x-sdk-date:20240101T000000Z\n\n"
    "content-type;host;user-agent;x-project-id;x-sdk-date\n"
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)


def signature_of(signed: signer.Signed) -> str:
    return signed.headers["Authorization"].rsplit("Signature=", 1)[1]


def test_vector_v1_canonical_request_and_signature() -> None:
    path = "/v2/p1/algorithm/services/user"
    signed = signer.sign(
        "GET",
        "127.0.0.1:8080",
        path,
        V1_QUERY,
        None,
        VECTOR_KEY,
        project_id="p1",
        headers={"User-Agent": "ua"},
        now=NOW,
    )
    sent = {k: v for k, v in signed.headers.items() if k != "Authorization"}
    assert signer.canonical_request("GET", path, V1_QUERY, sent, None) == V1_CANONICAL
    assert signature_of(signed) == (
        "ee3cb436dc8c00dccfd7d8c5851951284225516f3afcae540340376c74a72b2b"
    )
    assert signed.query == V1_CANONICAL.split("\n")[2]  # sent exactly as signed


def test_vector_v2_json_body_with_project() -> None:
    signed = signer.sign(
        "POST",
        "127.0.0.1:8080",
        "/v1/p1/services",
        None,
        b'{"service_name": "svc", "infer_type": "real-time"}',
        VECTOR_KEY,
        project_id="p1",
        headers={"User-Agent": "ua"},
        now=NOW,
    )
    assert signature_of(signed) == (
        "b25bf509347007575778d66607334794fe7365fec8a766882fb1810af854a198"
    )
    assert "X-Project-Id" in signed.headers


def test_vector_v3_unsigned_payload() -> None:
    signed = signer.sign(
        "POST",
        "127.0.0.1:8080",
        "/v1/p1/x",
        None,
        b"abc",
        VECTOR_KEY,
        headers={"Content-Type": "application/octet-stream"},
        now=NOW,
    )
    assert signed.headers["X-Sdk-Content-Sha256"] == "UNSIGNED-PAYLOAD"
    assert (
        "SignedHeaders=content-type;host;x-sdk-content-sha256;x-sdk-date,"
        in (signed.headers["Authorization"])
    )
    assert signature_of(signed) == (
        "00607db028065c44e6f4e2576d3980d45b330ec3dc3a95fc926531ba64a02b88"
    )


# -- a table of requests against the SDK's Signer ----------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    method: str
    path: str
    query: list[tuple[str, Any]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=lambda: dict(UA))
    body: bytes | None = None
    creds: Credentials = KEY
    project_id: str | None = "p1"
    content_type: str | None = "application/json"
    host: str = HOST


def seg(value: str) -> str:
    """A path parameter as the SDK substitutes it."""
    return quote(value, safe="")


SERVICE_BODY = json.dumps(
    {
        "service_name": "模型-svc",
        "infer_type": "real-time",
        "config": [{"model_id": "m1", "weight": 100, "instance_count": 1, "envs": {}}],
        "description": "owner: cloudinfer.io/uid=1234 / ü",
    },
    ensure_ascii=False,
).encode()

CASES = [
    Case("get-list", "GET", "/v1/p1/services", [("offset", 0), ("limit", 1000)]),
    Case("get-show", "GET", "/v1/p1/services/2a2d7c2e-0c5f-4b1b-9d1e-3d0f1c2a4b5c"),
    Case("delete", "DELETE", "/v1/p1/services/svc-1"),
    Case("delete-batch-ids", "DELETE", "/v1/p1/services/" + seg("id-1,id-2")),
    Case(
        "repeated-keys",
        "GET",
        "/v2/p1/algorithm/services/user",
        [
            ("alg_status", "service_running"),
            ("alg_status", "not_deployed"),
            ("alg_status", "deploying"),
        ],
    ),
    Case(
        "list-valued-param",
        "GET",
        "/v2/p1/algorithm/services/user",
        [("alg_status", ["stopped", "deploy_failed", "running"]), ("page_num", 1)],
    ),
    Case(
        "booleans-and-empty",
        "GET",
        "/v2/p1/algorithm/services/user",
        [("is_paged", True), ("is_shared", False), ("name_like", ""), ("tags", "")],
    ),
    Case(
        "unicode-and-slashes",
        "GET",
        "/v1/p1/services",
        [
            ("service_name", "模型/推理 服务"),
            ("description", "a+b=c&d?e#f%g"),
            ("tilde", "~_-.*'()!"),
            ("emoji", "🚀"),
        ],
    ),
    Case("none-dropped", "GET", "/v1/p1/services", [("status", None), ("limit", 10)]),
    Case(
        "reserved-path",
        "GET",
        "/v1/p1/services/" + seg("a b/c:d@e~f+g&h=i;j,k") + "/events",
        [("event_type", "abnormal")],
    ),
    Case("unicode-path", "GET", "/v1/p1/services/" + seg("服务-é")),
    Case("trailing-slash", "GET", "/v1/p1/services/"),
    Case("root", "GET", "/"),
    Case("json-post", "POST", "/v1/p1/services", body=SERVICE_BODY),
    Case(
        "json-put-charset",
        "PUT",
        "/v1/p1/services/svc-1",
        headers={**UA, "Content-Type": "application/json;charset=UTF-8"},
        body=b'{"status": "stopped"}',
    ),
    Case(
        "octet-stream-body",
        "PUT",
        "/v1/p1/files/x",
        headers={**UA, "Content-Type": "application/octet-stream"},
        body=b"\x00\x01binary\xff",
    ),
    Case(
        "text-body",
        "POST",
        "/v1/p1/notes",
        headers={"Content-Type": "text/plain; charset=utf-8"},
        body="plain ü".encode(),
    ),
    Case(
        "unsigned-header-empty-body",
        "GET",
        "/v1/p1/files",
        headers={**UA, "Content-Type": "application/octet-stream"},
    ),
    Case(
        "bson-hashed",
        "POST",
        "/v1/p1/bson",
        headers={**UA, "Content-Type": "application/bson"},
        body=b"\x05\x00\x00\x00\x00",
    ),
    Case("empty-json-body", "POST", "/v1/p1/services/svc-1/stop", body=b""),
    Case(
        "security-token", "PUT", "/v1/p1/services/svc-1", body=b'{"status": "running"}', creds=STS
    ),
    Case("security-token-get", "GET", "/v1/p1/services", [("limit", 5)], creds=STS),
    Case("no-project", "GET", "/v1/workspaces/ws-1/services/instances", project_id=None),
    Case(
        "fabric-with-project",
        "POST",
        "/v1/workspaces/ws-1/services/instances",
        body=b'{"name": "x"}',
        host="fabric-ep.cn-north-4.myhuaweicloud.com",
    ),
    Case(
        "host-with-port",
        "GET",
        "/v1/p1/services",
        [("limit", 1)],
        host="127.0.0.1:18080",
    ),
    Case(
        "header-whitespace-and-underscore",
        "GET",
        "/v1/p1/services",
        headers={
            "User-Agent": "  cloudinfer/0.1  (linux)  ",
            "X-Language": "\ten-us ",
            "X_Custom_Unsigned": "not signed",
        },
    ),
    Case("no-content-type", "GET", "/v1/p1/services", content_type=None),
    Case(
        "content-type-given",
        "POST",
        "/v1/p1/services",
        headers={**UA, "Content-Type": "application/json"},
        body=b"{}",
    ),
]


def check_against_sdk(case: Case) -> None:
    ours = signer.sign(
        case.method,
        case.host,
        case.path,
        case.query,
        case.body,
        case.creds,
        project_id=case.project_id,
        headers=case.headers,
        content_type=case.content_type,
        now=NOW,
    )
    given_headers = dict(case.headers)
    if case.content_type is not None:  # what the SDK client adds before signing
        given_headers.setdefault("Content-Type", case.content_type)
    theirs, uri = sdk_sign(
        case.method,
        case.host,
        case.path,
        copy_query(case.query),
        given_headers,
        case.body,
        sdk_credentials(case.creds, case.project_id),
    )
    assert ours.headers == theirs
    assert ours.target(case.path) == uri


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_equals_the_sdk(case: Case) -> None:
    check_against_sdk(case)


def test_table_covers_what_the_issue_lists() -> None:
    signed = {
        c.id: signer.sign(
            c.method,
            c.host,
            c.path,
            c.query,
            c.body,
            c.creds,
            project_id=c.project_id,
            headers=c.headers,
            content_type=c.content_type,
            now=NOW,
        )
        for c in CASES
    }
    auth = {k: v.headers["Authorization"] for k, v in signed.items()}
    assert "content-type;" in auth["delete"] and "content-type;" in auth["get-list"]
    assert signed["repeated-keys"].query.count("alg_status=") == 3
    assert "is_paged=true" in signed["booleans-and-empty"].query
    assert "name_like=&" in signed["booleans-and-empty"].query
    assert "%2F" in signed["unicode-and-slashes"].query
    assert signed["octet-stream-body"].headers["X-Sdk-Content-Sha256"] == "UNSIGNED-PAYLOAD"
    assert "X-Sdk-Content-Sha256" not in signed["json-post"].headers
    assert signed["security-token"].headers["X-Security-Token"] == "gQpjbi1ub3J0aC00+/token=="
    assert "x-security-token" in auth["security-token"]
    assert "X-Project-Id" not in signed["no-project"].headers
    assert signed["fabric-with-project"].headers["X-Project-Id"] == "p1"
    assert "x_custom_unsigned" not in auth["header-whitespace-and-underscore"]
    assert signed["header-whitespace-and-underscore"].headers["X_Custom_Unsigned"] == "not signed"
    assert signed["host-with-port"].headers["Host"] == "127.0.0.1:18080"


# -- what a real SDK client call assembles -------------------------------------------------


@pytest.mark.parametrize(
    ("method", "resource_path", "kwargs", "creds"),
    [
        (
            "GET",
            "/v1/{project_id}/services",
            {
                "query_params": [
                    ("status", ["running", "deploying"]),
                    ("service_name", "名 a/b"),
                    ("is_shared", False),
                    ("limit", 10),
                ],
                "collection_formats": {"status": "multi"},
            },
            KEY,
        ),
        (
            "POST",
            "/v1/{project_id}/services",
            {"body": {"service_name": "svc", "config": [{"model_id": "m", "weight": 100}]}},
            KEY,
        ),
        (
            "PUT",
            "/v1/{project_id}/services/{service_id}",
            {"path_params": {"service_id": "a b/c"}, "body": {"status": "stopped"}},
            STS,
        ),
        (
            "DELETE",
            "/v1/{project_id}/services/{service_id}",
            {"path_params": {"service_id": "id-1,id-2"}},
            KEY,
        ),
    ],
)
def test_equals_a_real_sdk_client_call(
    method: str, resource_path: str, kwargs: dict[str, Any], creds: Credentials
) -> None:
    sent = captured_call(sdk_credentials(creds, "p1"), method, resource_path, **kwargs)
    headers = {k: str(v) for k, v in sent.header_params.items()}
    date = datetime.strptime(headers["X-Sdk-Date"], signer.DATE_FORMAT).replace(tzinfo=UTC)
    body = sent.body.encode() if isinstance(sent.body, str) else sent.body
    ours = signer.sign(
        method,
        sent.host,
        sent.resource_path,
        sent.query_params,
        body,
        creds,
        project_id="p1",
        headers={"User-Agent": headers["User-Agent"]},
        now=date,
    )
    assert ours.headers == headers
    assert ours.target(sent.resource_path) == sent.uri


# -- random requests ----------------------------------------------------------------------

_text = st.text(st.characters(codec="utf-8"), max_size=12)
_keys = st.text(st.characters(codec="utf-8"), min_size=1, max_size=8)


@settings(max_examples=200, deadline=None)
@given(
    repeated=st.lists(st.tuples(_keys, _text), max_size=8),
    flags=st.dictionaries(
        st.text("abcxyz_", min_size=1, max_size=4).map("b_".__add__), st.booleans()
    ),
    numbers=st.dictionaries(
        st.text("abcxyz_", min_size=1, max_size=4).map("n_".__add__),
        st.integers(-(10**12), 10**12),
    ),
    segment=_text,
    body=st.one_of(st.none(), st.binary(max_size=64)),
    json_body=st.booleans(),
)
def test_random_requests_equal_the_sdk(
    repeated: list[tuple[str, str]],
    flags: dict[str, bool],
    numbers: dict[str, int],
    segment: str,
    body: bytes | None,
    json_body: bool,
) -> None:
    query: list[tuple[str, Any]] = [
        *[(k, v) for k, v in repeated if not k.startswith(("b_", "n_"))],
        *flags.items(),
        *numbers.items(),
    ]
    headers = dict(UA)
    if not json_body:
        headers["Content-Type"] = "application/octet-stream"
    check_against_sdk(
        Case("random", "POST", "/v1/p1/services/" + seg(segment), query, headers, body)
    )


@settings(max_examples=100, deadline=None)
@given(value=st.text(st.characters(codec="utf-8"), max_size=20))
def test_random_header_values_equal_the_sdk(value: str) -> None:
    check_against_sdk(Case("header", "GET", "/v1/p1/services", headers={"X-Language": value}))


# -- the deliberate difference, and refusals ----------------------------------------------


def test_repeated_numeric_values_are_ordered_as_text() -> None:
    """The SDK orders raw numbers numerically (9 before 10); what reaches the gateway is
    text, so we order as text, as a server recomputing the signature does."""
    ours = signer.sign("GET", HOST, "/v1/p1/x", [("n", 10), ("n", 9)], None, KEY, now=NOW)
    _, uri = sdk_sign(
        "GET",
        HOST,
        "/v1/p1/x",
        [("n", 10), ("n", 9)],
        {"Content-Type": "application/json"},
        None,
        sdk_credentials(KEY, None),
    )
    assert ours.query == "n=10&n=9"
    assert uri == "/v1/p1/x?n=9&n=10"


def test_refuses_what_cannot_be_signed() -> None:
    with pytest.raises(ValueError, match="access key pair"):
        signer.sign("GET", HOST, "/", None, None, TOKEN)
    with pytest.raises(ValueError, match="Authorization"):
        signer.sign("GET", HOST, "/", None, None, KEY, headers={"authorization": "x"})
    with pytest.raises(ValueError, match="twice"):
        signer.sign("GET", HOST, "/", None, None, KEY, headers={"A": "1", "a": "2"})


def test_date_is_utc_whatever_the_zone() -> None:
    from datetime import timedelta, timezone

    local = datetime(2024, 1, 1, 8, 0, tzinfo=timezone(timedelta(hours=8)))
    signed = signer.sign("GET", HOST, "/", None, None, KEY, now=local)
    assert signed.headers["X-Sdk-Date"] == "20240101T000000Z"


# -- IAM token instead of a signature ---------------------------------------------------


def test_token_auth_sends_the_token_and_no_signature() -> None:
    sent = signer.authenticate(
        "GET",
        HOST,
        "/v1/p1/services",
        {"limit": 10, "status": ["running", "deploying"], "name": None},
        None,
        TOKEN,
        project_id="p1",
        headers=UA,
    )
    assert sent.headers == {
        "User-Agent": "cloudinfer/0.1.0",
        "Content-Type": "application/json",
        "X-Project-Id": "p1",
        "X-Auth-Token": "MIIT-iam-token",
    }
    assert sent.query == "limit=10&status=deploying&status=running"


def test_authenticate_signs_with_a_key_pair() -> None:
    sent = signer.authenticate("GET", HOST, "/v1/p1/services", None, None, KEY, now=NOW)
    assert sent.headers["Authorization"].startswith("SDK-HMAC-SHA256 Access=AK-TEST-ID, ")
    assert "X-Auth-Token" not in sent.headers
    with pytest.raises(ValueError, match="IAM token"):
        signer.token_auth(None, KEY)


def test_target_without_query() -> None:
    assert signer.sign("GET", HOST, "/v1/p1/x", {}, None, KEY, now=NOW).target("/v1/p1/x") == (
        "/v1/p1/x"
    )
