"""What every Huawei API client sends the same way: the request whose query goes on the wire
as the gateway verifies it, the signing of each request with the client's current
credentials (rotatable), path segments and JSON bodies as the official SDK writes them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from cloudinfer import __version__
from cloudinfer.clouds.huawei import signer
from cloudinfer.clouds.transport import CloudRequest
from cloudinfer.credentials import Credentials

USER_AGENT = f"cloudinfer/{__version__}"


@dataclass(frozen=True)
class HuaweiRequest(CloudRequest):
    """A request whose query goes on the wire as the Huawei gateway verifies it: the
    canonical query (sorted pairs, `quote(..., safe="~")`), not form encoding.

    `repeated` holds the list-valued query parameters (VIAS' `alg_status`): each value is
    sent as a pair of its own, `k=a&k=b`, the "multi" format the SDK forces on every list
    parameter, and signed the same way (the signer keeps repeated keys, values sorted).
    They sit apart from `query`, whose values are single strings for every cloud."""

    repeated: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        both = set(self.query) & set(self.repeated)
        if both:
            raise ValueError(f"query keys given both once and repeated: {sorted(both)}")

    def query_params(self) -> signer.Query:
        """Every query parameter, the repeated ones as lists: what is signed and sent."""
        return [*self.query.items(), *self.repeated.items()]

    def encoded_query(self) -> str:
        return signer.canonical_query(self.query_params())


class RequestSigner:
    """Signs each request (SDK-HMAC-SHA256, or the IAM token) with the credentials of the
    moment: `rotate` takes effect from the next request on."""

    def __init__(self, credentials: Credentials, project_id: str | None) -> None:
        self.credentials, self.project_id = credentials, project_id

    def rotate(self, credentials: Credentials) -> None:
        self.credentials = credentials

    def __call__(self, request: CloudRequest, host: str) -> dict[str, str]:
        query = request.query_params() if isinstance(request, HuaweiRequest) else request.query
        signed = signer.authenticate(
            request.method,
            host,
            request.path,
            query,
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
