"""ACS3-HMAC-SHA256 request signing for Alibaba Cloud ROA APIs (what the current SDK sends).
The one place this signature is computed on the client side, for every Alibaba API (each
passes its own API version); tests compare it with the signer inside
alibabacloud-tea-openapi on a table of requests."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import quote

from cloudinfer.credentials import Credentials

ALGORITHM = "ACS3-HMAC-SHA256"


def canonical_query(query: Mapping[str, str | None]) -> str:
    keys = sorted(k for k, v in query.items() if v is not None)
    return "&".join(f"{k}={quote(str(query[k]), safe='~')}" for k in keys)


def canonical_headers(headers: Mapping[str, str]) -> tuple[str, str]:
    lowered = {k.lower(): v.strip() for k, v in headers.items()}
    names = sorted(lowered)
    return "".join(f"{n}:{lowered[n]}\n" for n in names), ";".join(names)


def authorization(
    method: str,
    path: str,
    query: Mapping[str, str | None],
    headers: Mapping[str, str],
    payload_hash: str,
    access_key_id: str,
    access_key_secret: str,
) -> str:
    """The Authorization header for a request whose signed headers are exactly `headers`."""
    canon_headers, signed = canonical_headers(headers)
    canonical_request = "\n".join(
        [method.upper(), path or "/", canonical_query(query), canon_headers, signed, payload_hash]
    )
    digest = hashlib.sha256(canonical_request.encode()).hexdigest()
    string_to_sign = f"{ALGORITHM}\n{digest}"
    signature = hmac.new(
        access_key_secret.encode(), string_to_sign.encode(), hashlib.sha256
    ).hexdigest()
    return f"{ALGORITHM} Credential={access_key_id},SignedHeaders={signed},Signature={signature}"


def sign(
    method: str,
    host: str,
    path: str,
    query: Mapping[str, str],
    body: bytes | None,
    action: str,
    credentials: Credentials,
    version: str,
    now: datetime | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """Every header to send, Authorization included."""
    if credentials.access_key_id is None or credentials.access_key_secret is None:
        raise ValueError("PAI-EAS needs an access key pair")
    payload_hash = hashlib.sha256(body or b"").hexdigest()
    headers = {
        "host": host,
        "x-acs-version": version,
        "x-acs-action": action,
        "x-acs-date": (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "x-acs-signature-nonce": nonce or uuid.uuid4().hex,
        "accept": "application/json",
        "x-acs-content-sha256": payload_hash,
    }
    if body:
        headers["content-type"] = "application/json; charset=utf-8"
    if credentials.security_token is not None:
        headers["x-acs-accesskey-id"] = credentials.access_key_id
        headers["x-acs-security-token"] = credentials.security_token.get_secret_value()
    headers["Authorization"] = authorization(
        method,
        path,
        query,
        headers,
        payload_hash,
        credentials.access_key_id,
        credentials.access_key_secret.get_secret_value(),
    )
    return headers
