"""Huawei Cloud's error answer, parsed once for every Huawei API; each API brings its table.

Shapes seen (reference/huawei.md §2, §3, §5.3, §6, §7):
  * the services' own: `{"error_code": "ModelArts.3502", "error_msg": "..."}`, sometimes with
    more fields (`solution_msg`; VIAS: `detail, params, reason, advice`);
  * the API gateway's: `{"error_code": "APIGW.0301", "error_msg": "...", "request_id": "..."}`
    (older docs and some regions write `APIG.`);
  * the gateway's nested shape, where the real code is a number and the message sits both
    at the top and inside `error`: `{"error": {"code": "403", "message": "...", "title":
    "Forbidden"}, "error_code": 403, "error_msg": "...", "title": "Forbidden"}`;
  * IAM-style `{"error": {"code": ..., "message": ...}}` with nothing at the top.

The code and message are taken as the official SDK takes them (its DefaultExceptionHandler):
the first of `error_code`/`error_msg`, `errorCode`/`errorMsg`, `code`/`message` at the top,
else the same inside a nested object; a numeric top-level code defers to a nested textual one.
The request id comes from the `X-Request-Id` header (either case), else from the body's
`request_id`; it is kept on the error for messages and support tickets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from cloudinfer.clouds.errors import CloudError, ErrorTable

# Codes the API gateway in front of every Huawei API answers with, whatever the product.
GATEWAY_AUTH = (
    "APIGW.0301",  # Incorrect IAM authentication information (bad signature, token, AK)
    "APIG.0301",
    "APIGW.0303",  # Incorrect app authentication information (signature expired, ...)
    "APIG.0303",
    "APIG.1002",  # Incorrect token or token resolution failed
)
GATEWAY_THROTTLED = ("APIGW.0308", "APIG.0308")  # The throttling threshold has been reached

_PAIRS = (("error_code", "error_msg"), ("errorCode", "errorMsg"), ("code", "message"))
_MAX_TEXT = 512  # a non-JSON answer (a proxy's HTML page) is cut to this in the message


@dataclass(frozen=True)
class ErrorFields:
    code: str
    message: str
    request_id: str = ""


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _numeric(code: str) -> bool:
    return code.strip().isdigit()


def _pair(body: Mapping[str, Any]) -> tuple[str, str] | None:
    """The first code/message pair at this level (a code alone counts)."""
    for code_key, message_key in _PAIRS:
        if code_key in body:
            return _text(body.get(code_key)), _text(body.get(message_key))
    return None


def _nested(body: Mapping[str, Any]) -> tuple[str, str] | None:
    for value in body.values():
        if isinstance(value, Mapping):
            found = _pair(value) or _nested(value)
            if found is not None:
                return found
    return None


def read_error(body: Any) -> ErrorFields:
    """Code, message and body request id out of a decoded error body (any JSON value)."""
    if not isinstance(body, Mapping):
        return ErrorFields("", "")
    top, inner = _pair(body), _nested(body)
    code, message = top or inner or ("", "")
    if inner is not None and (not code or _numeric(code)) and inner[0] and not _numeric(inner[0]):
        code = inner[0]  # the nested shape: a number at the top, the real code inside
    if not message and inner is not None:
        message = inner[1]
    return ErrorFields(code, message, _text(body.get("request_id")))


def request_id_of(response: httpx.Response, fields: ErrorFields) -> str:
    return response.headers.get("x-request-id") or fields.request_id


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return 1.0  # an HTTP date or garbage: still a request to wait


def parse_error(table: ErrorTable, response: httpx.Response) -> CloudError:
    """A Huawei error answer → the typed error `table` says it is."""
    try:
        body = response.json()
    except ValueError:
        body = None
    fields = read_error(body)
    message = fields.message
    if not message:
        text = response.text.strip()
        message = text[:_MAX_TEXT] if text and body is None else response.reason_phrase
    return table.classify(
        response.status_code,
        fields.code,
        message,
        _retry_after(response),
        request_id_of(response, fields),
    )


def huawei_table(
    *,
    not_found: tuple[str, ...] = (),
    conflict: tuple[str, ...] = (),
    busy: tuple[str, ...] = (),
    throttled: tuple[str, ...] = (),
    auth: tuple[str, ...] = (),
    forbidden: tuple[str, ...] = (),
    invalid: tuple[str, ...] = (),
) -> ErrorTable:
    """One Huawei API's table: its own codes by meaning, plus the gateway's codes that
    every Huawei API answers with."""
    return ErrorTable(
        not_found=not_found,
        conflict=conflict,
        busy=busy,
        throttled=GATEWAY_THROTTLED + throttled,
        auth=GATEWAY_AUTH + auth,
        forbidden=forbidden,
        invalid=invalid,
    )
