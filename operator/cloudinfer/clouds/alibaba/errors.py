"""Alibaba Cloud's error answer, `{"RequestId", "Code", "Message", ...}` with an optional
`x-acs-retry-after` header, parsed once for every Alibaba API; each API brings its table."""

from __future__ import annotations

import httpx

from cloudinfer.clouds.errors import CloudError, ErrorTable

# Signature and credential codes every Alibaba API answers with.
AUTH_CODES = (
    "InvalidAccessKeyId*",
    "SignatureDoesNotMatch",
    "InvalidSecurityToken*",
    "IncompleteSignature",
    "InvalidTimeStamp*",
    "SignatureNonceUsed",
    "MissingAuthorization",
    "InvalidAuthorization",
    "InvalidContentSha256",
)


def parse_error(table: ErrorTable, response: httpx.Response) -> CloudError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    code = str(body.get("Code") or body.get("code") or "")
    message = str(body.get("Message") or body.get("message") or response.reason_phrase)
    retry_after: float | None = None
    raw = response.headers.get("x-acs-retry-after")
    if raw is not None:
        try:
            retry_after = float(raw)
        except ValueError:
            retry_after = 1.0
    return table.classify(
        response.status_code, code, message, retry_after, str(body.get("RequestId") or "")
    )
