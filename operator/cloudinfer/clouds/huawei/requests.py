"""What every Huawei API client sends the same way: the request whose query goes on the wire
as the gateway verifies it, the signing of each request with the client's current
credentials (rotatable), path segments and JSON bodies as the official SDK writes them."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from cloudinfer import __version__
from cloudinfer.clouds.huawei import signer
from cloudinfer.clouds.transport import CloudRequest
from cloudinfer.credentials import Credentials

USER_AGENT = f"cloudinfer/{__version__}"


class HuaweiRequest(CloudRequest):
    """A request whose query goes on the wire as the Huawei gateway verifies it: the
    canonical query (sorted pairs, `quote(..., safe="~")`), not form encoding."""

    def encoded_query(self) -> str:
        return signer.canonical_query(self.query)


class RequestSigner:
    """Signs each request (SDK-HMAC-SHA256, or the IAM token) with the credentials of the
    moment: `rotate` takes effect from the next request on."""

    def __init__(self, credentials: Credentials, project_id: str | None) -> None:
        self.credentials, self.project_id = credentials, project_id

    def rotate(self, credentials: Credentials) -> None:
        self.credentials = credentials

    def __call__(self, request: CloudRequest, host: str) -> dict[str, str]:
        signed = signer.authenticate(
            request.method,
            host,
            request.path,
            request.query,
            request.body,
            self.credentials,
            project_id=self.project_id,
            headers={"User-Agent": USER_AGENT},
        )
        return signed.headers


def segment(value: str) -> str:
    return quote(value, safe="")  # as the SDK substitutes path parameters


def json_body(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
