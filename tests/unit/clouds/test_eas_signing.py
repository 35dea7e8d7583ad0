"""Our ACS3-HMAC-SHA256 signature equals the official SDK signer's (alibabacloud-tea-openapi)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from alibabacloud_tea_openapi.utils import Utils
from darabonba.request import DaraRequest
from pydantic import SecretStr

from cloudinfer.clouds.alibaba import acs3 as signing
from cloudinfer.clouds.alibaba.eas.client import API_VERSION
from cloudinfer.credentials import Credentials

NOW = datetime(2026, 11, 22, 12, 34, 56, tzinfo=UTC)
KEY = Credentials(access_key_id="LTAI-test-id", access_key_secret=SecretStr("s3cr3t/+=key"))
STS = Credentials(
    access_key_id="STS.id",
    access_key_secret=SecretStr("sts-secret"),
    security_token=SecretStr("CAIS+token/with=chars"),
)

CASES = [
    ("GET", "/api/v2/services", {}, None, KEY),
    (
        "GET",
        "/api/v2/services",
        {"PageNumber": "1", "PageSize": "100", "Filter": "a b+c~d*e"},
        None,
        KEY,
    ),
    (
        "GET",
        "/api/v2/services",
        {"Label": '{"team":"推理","env":"prod"}', "Order": "asc"},
        None,
        KEY,
    ),
    (
        "POST",
        "/api/v2/services",
        {"Labels": '{"k":"v"}', "Develop": ""},
        b'{"name":"svc","metadata":{"instance":2}}',
        KEY,
    ),
    ("POST", "/api/v2/services/cn-shanghai/src/clone", {}, '{"name":"模型"}'.encode(), KEY),
    (
        "PUT",
        "/api/v2/services/cn-shanghai/svc",
        {"UpdateType": "merge"},
        b'{"metadata":{"cpu":4}}',
        STS,
    ),
    ("PUT", "/api/v2/services/cn-shanghai/svc/stop", {}, None, STS),
    ("DELETE", "/api/v2/services/cn-shanghai/a%20b", {}, b"", KEY),
]


@pytest.mark.parametrize(("method", "path", "query", "body", "creds"), CASES)
def test_signature_equals_the_sdk(
    method: str, path: str, query: dict[str, str], body: bytes | None, creds: Credentials
) -> None:
    headers = signing.sign(
        method,
        "pai-eas.cn-shanghai.aliyuncs.com",
        path,
        query,
        body,
        "SomeAction",
        creds,
        API_VERSION,
        now=NOW,
        nonce="fixed-nonce",
    )
    ours = headers.pop("Authorization")

    request = DaraRequest()
    request.method, request.pathname, request.query = method, path, dict(query)
    request.headers = dict(headers)
    payload = hashlib.sha256(body or b"").hexdigest()
    assert creds.access_key_secret is not None
    theirs = Utils.get_authorization(
        request,
        "ACS3-HMAC-SHA256",
        payload,
        creds.access_key_id,
        creds.access_key_secret.get_secret_value(),
    )
    assert ours == theirs


def test_headers_the_sdk_sends() -> None:
    headers = signing.sign(
        "POST", "h", "/p", {}, b"{}", "CreateService", STS, API_VERSION, now=NOW, nonce="n"
    )
    assert headers["x-acs-date"] == "2026-11-22T12:34:56Z"
    assert headers["x-acs-version"] == "2021-07-01" and headers["x-acs-action"] == "CreateService"
    assert headers["x-acs-content-sha256"] == hashlib.sha256(b"{}").hexdigest()
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert headers["x-acs-security-token"] == "CAIS+token/with=chars"
    assert headers["x-acs-accesskey-id"] == "STS.id"
    assert "SignedHeaders=accept;content-type;host;x-acs-accesskey-id;" in headers["Authorization"]
