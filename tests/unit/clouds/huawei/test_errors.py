"""Huawei error answers: both body shapes read as the official SDK reads them, the request id
kept, and ModelArts' codes classified by its table."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from cloudinfer.clouds import errors
from cloudinfer.clouds.huawei.errors import huawei_table, parse_error, read_error
from cloudinfer.clouds.huawei.modelarts_errors import TABLE, classify
from cloudinfer.clouds.transport import CloudRequest
from tests.unit.clouds.huawei.sdk import DefaultExceptionHandler, ServiceResponseException

MODELARTS_404 = {
    "error_code": "ModelArts.3502",
    "error_msg": "Service 2a2d7c2e does not exist.",
}
GATEWAY_401 = {
    "error_code": "APIGW.0301",
    "error_msg": "Incorrect IAM authentication information: verify aksk signature fail",
    "request_id": "7d5c0a1b2c3d4e5f",
}
# Seed 001 (DataArts Fabric), the gateway's nested shape: a number at the top.
NESTED_403 = {
    "error": {
        "code": "403",
        "message": "X-Auth-Token is invalid in the request",
        "title": "Forbidden",
    },
    "error_code": 403,
    "error_msg": "X-Auth-Token is invalid in the request",
    "title": "Forbidden",
}
IAM_NESTED = {"error": {"code": "APIGW.0301", "message": "token expired", "title": "Unauthorized"}}
VIAS_400 = {
    "error_code": "VIAS.00010002",
    "error_msg": "The object does not exist.",
    "detail": "",
    "params": [],
    "reason": "",
    "advice": "",
}
CAMEL = {"errorCode": "X.1", "errorMsg": "camel"}
PLAIN = {"code": "X.2", "message": "plain"}


def response(
    status: int, body: Any, headers: dict[str, str] | None = None, raw: bytes | None = None
) -> httpx.Response:
    content = raw if raw is not None else json.dumps(body).encode()
    return httpx.Response(status, content=content, headers=headers or {})


def sdk_error(status: int, content: bytes, headers: dict[str, str]) -> ServiceResponseException:
    answer = requests.Response()
    answer.status_code = status
    answer._content = content
    answer.headers.update(headers)
    answer.encoding = "utf-8"
    with pytest.raises(ServiceResponseException) as raised:
        DefaultExceptionHandler().handle_exception(None, answer)
    return raised.value


@pytest.mark.parametrize(
    ("status", "body", "code", "message"),
    [
        (404, MODELARTS_404, "ModelArts.3502", "Service 2a2d7c2e does not exist."),
        (401, GATEWAY_401, "APIGW.0301", GATEWAY_401["error_msg"]),
        (403, NESTED_403, "403", "X-Auth-Token is invalid in the request"),
        (401, IAM_NESTED, "APIGW.0301", "token expired"),
        (400, VIAS_400, "VIAS.00010002", "The object does not exist."),
        (400, CAMEL, "X.1", "camel"),
        (400, PLAIN, "X.2", "plain"),
    ],
)
def test_reads_code_and_message_as_the_sdk_does(
    status: int, body: dict[str, Any], code: str, message: str
) -> None:
    fields = read_error(body)
    assert (fields.code, fields.message) == (code, message)
    theirs = sdk_error(status, json.dumps(body).encode(), {"X-Request-Id": "rid"})
    assert (str(theirs.error_code), theirs.error_msg) == (code, message)
    ours = parse_error(TABLE, response(status, body, {"X-Request-Id": "rid"}))
    assert (ours.code, ours.message, ours.request_id) == (code, message, theirs.request_id)


def test_nested_shape_prefers_a_textual_code_inside() -> None:
    body = {"error_code": 401, "error_msg": "denied", "error": {"code": "APIG.1002"}}
    assert read_error(body).code == "APIG.1002"
    assert read_error(body).message == "denied"


def test_request_id_from_header_either_case_else_body() -> None:
    assert parse_error(TABLE, response(401, GATEWAY_401)).request_id == "7d5c0a1b2c3d4e5f"
    lower = response(401, GATEWAY_401, {"x-request-id": "hdr"})
    assert parse_error(TABLE, lower).request_id == "hdr"
    assert parse_error(TABLE, response(404, MODELARTS_404)).request_id == ""


def test_not_json_keeps_the_text_and_is_transient() -> None:
    page = b"<html><body>502 Bad Gateway</body></html>"
    error = parse_error(TABLE, response(502, None, raw=page))
    assert type(error) is errors.ServerError and "502 Bad Gateway" in error.message
    assert error.code == ""
    assert len(parse_error(TABLE, response(500, None, raw=b"x" * 5000)).message) == 512
    empty = parse_error(TABLE, response(503, None, raw=b""))
    assert empty.message == "Service Unavailable"


def test_throttling_honours_retry_after() -> None:
    throttled = parse_error(
        TABLE,
        response(
            429,
            {"error_code": "APIG.0308", "error_msg": "The throttling threshold has been reached"},
            {"Retry-After": "7"},
        ),
    )
    assert isinstance(throttled, errors.Throttled) and throttled.retry_after == 7
    bare = parse_error(TABLE, response(429, None, raw=b""))
    assert isinstance(bare, errors.Throttled) and bare.retry_after == 1


@pytest.mark.parametrize(
    ("status", "code", "expected", "terminal"),
    [
        (404, "ModelArts.3502", errors.NotFound, False),
        (409, "ModelArts.3503", errors.Conflict, False),
        (400, "ModelArts.3519", errors.Busy, False),  # wrong state now: retried
        (400, "ModelArts.3515", errors.Busy, False),
        (400, "ModelArts.3520", errors.Invalid, True),  # quota: terminal
        (400, "ModelArts.3521", errors.Invalid, True),
        (400, "ModelArts.3522", errors.Invalid, True),
        (400, "ModelArts.0101", errors.Invalid, True),
        (404, "ModelArts.3507", errors.Invalid, True),  # the spec names a missing model
        (401, "ModelArts.0201", errors.AuthFailed, True),
        (401, "ModelArts.0202", errors.AuthFailed, True),
        (401, "ModelArts.0203", errors.AuthFailed, True),
        (403, "ModelArts.0203", errors.AuthFailed, True),
        (401, "ModelArts.0204", errors.AuthFailed, True),
        (403, "ModelArts.0205", errors.AuthFailed, True),
        (403, "ModelArts.0206", errors.AuthFailed, True),
        (403, "ModelArts.0210", errors.Forbidden, False),
        (401, "APIGW.0301", errors.AuthFailed, True),
        (401, "APIG.0301", errors.AuthFailed, True),
        (401, "APIG.1002", errors.AuthFailed, True),
        (429, "APIGW.0308", errors.Throttled, False),
        (500, "ModelArts.3501", errors.ServerError, False),
        (400, "ModelArts.9999", errors.Unrecognised, False),  # never a guessed verdict
        (404, "APIGW.0101", errors.Unrecognised, False),  # a wrong URL is not "gone"
        (403, "403", errors.Forbidden, False),  # the nested gateway shape
    ],
)
def test_modelarts_table(
    status: int, code: str, expected: type[errors.CloudError], terminal: bool
) -> None:
    error = classify(
        CloudRequest("ShowService", "GET", "/v1/p1/services/x"),
        response(status, {"error_code": code, "error_msg": "m"}, {"X-Request-Id": "r-1"}),
    )
    assert type(error) is expected
    assert error.terminal is terminal
    assert (error.status, error.code, error.request_id) == (status, code, "r-1")


def test_each_product_gets_the_gateway_codes() -> None:
    table = huawei_table(not_found=("VIAS.00010002",))
    assert type(table.classify(400, "VIAS.00010002", "m", None)) is errors.NotFound
    assert type(table.classify(401, "APIGW.0301", "m", None)) is errors.AuthFailed
    assert type(table.classify(429, "APIG.0308", "m", None)) is errors.Throttled


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(body=_json, status=st.sampled_from([400, 401, 403, 404, 409, 429, 500, 503]))
def test_any_json_answer_gives_a_typed_error(body: Any, status: int) -> None:
    error = parse_error(TABLE, response(status, body))
    assert isinstance(error, errors.CloudError) and error.status == status
    assert isinstance(error.code, str) and isinstance(error.message, str)
