"""Huawei Cloud request authentication: SDK-HMAC-SHA256 signing with an AK/SK pair
(optionally temporary, with a security token), or an IAM token sent as `X-Auth-Token`.

The one place this signature is computed on the client side, for every Huawei API. Pure
functions, no I/O. Tests compare the result byte for byte with `huaweicloudsdkcore`'s
`Signer` (BasicCredentials.sign_request) on a table of requests and the reference vectors.

What the SDK does, and so what `sign` does (reference/huawei.md §2):
  * `Content-Type: application/json` is added when absent, on every method (GET and DELETE
    too), and signed; a Content-Type that is neither JSON nor BSON adds
    `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD`, which is signed and stands for the body hash;
  * `X-Project-Id` whenever a project id is given, `X-Security-Token` with temporary keys;
  * `X-Sdk-Date` (`%Y%m%dT%H%M%SZ`, UTC) and `Host` (the netloc, port included);
  * every header given is signed (lower-cased, sorted) except names containing `_`;
    values are sent and signed with surrounding whitespace stripped;
  * the canonical URI is the path percent-decoded, split on `/`, each segment re-encoded
    with only unreserved characters kept, and a `/` appended unless already there;
  * the query is sorted and encoded (`quote(..., safe="~")`: space `%20`, `/` `%2F`,
    booleans `true`/`false`, empty values `k=`, repeated keys repeated) and **sent exactly
    as signed**: `Signed.query` is the string to put after `?`.

One deliberate difference: repeated query keys are ordered by their values as text. The SDK
sorts the raw values, which for numbers is numeric (`9` before `10`); the gateway only sees
text, so that order would not verify. No request in our APIs repeats a numeric key."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, unquote

from cloudinfer.credentials import Credentials

ALGORITHM = "SDK-HMAC-SHA256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_PAYLOAD_HASH = hashlib.sha256(b"").hexdigest()
JSON = "application/json"

HEADER_AUTHORIZATION = "Authorization"
HEADER_AUTH_TOKEN = "X-Auth-Token"
HEADER_CONTENT_SHA256 = "X-Sdk-Content-Sha256"
HEADER_CONTENT_TYPE = "Content-Type"
HEADER_DATE = "X-Sdk-Date"
HEADER_HOST = "Host"
HEADER_PROJECT_ID = "X-Project-Id"
HEADER_SECURITY_TOKEN = "X-Security-Token"

# Content types whose bodies are hashed; any other gets UNSIGNED-PAYLOAD.
_HASHED_CONTENT_TYPES = ("application/json", "application/bson")

QueryValue = str | int | float | bool
QueryParam = QueryValue | Sequence[QueryValue] | None
Query = Mapping[str, QueryParam] | Iterable[tuple[str, QueryParam]]


@dataclass(frozen=True)
class Signed:
    """What to send: every header (Authorization or X-Auth-Token included) and the query
    string to put after `?` unchanged (empty: no `?`)."""

    headers: dict[str, str]
    query: str

    def target(self, path: str) -> str:
        """The request target: `path` as given, then the query."""
        return f"{path}?{self.query}" if self.query else path


# -- the canonical pieces ----------------------------------------------------------------


def _encode(text: str) -> str:
    return quote(text, safe="~")


def query_text(value: QueryValue) -> str:
    """A query value as the SDK writes it: booleans lower-case, everything else `str()`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def query_pairs(query: Query | None) -> list[tuple[str, str]]:
    """(key, text) pairs: `None` values dropped, lists expanded into repeated keys (the
    SDK forces the "multi" collection format on every list parameter)."""
    items = query.items() if isinstance(query, Mapping) else (query or ())
    pairs: list[tuple[str, str]] = []
    for key, value in items:
        if value is None:
            continue
        if isinstance(value, str | int | float | bool):
            pairs.append((key, query_text(value)))
        else:
            pairs.extend((key, query_text(v)) for v in value if v is not None)
    return pairs


def canonical_query(query: Query | None) -> str:
    """Sorted on the raw (key, value) text, then each side percent-encoded."""
    return "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(query_pairs(query)))


def canonical_uri(path: str) -> str:
    segments = unquote(path).split("/")
    uri = "/".join(_encode(segment) for segment in segments)
    return uri if uri.endswith("/") else uri + "/"


def canonical_headers(headers: Mapping[str, str]) -> tuple[str, str]:
    """(the canonical header block, ending in a newline; the signed header list).

    Every header is signed except names containing `_`."""
    lowered = _lowered(headers)
    names = sorted(name for name in lowered if "_" not in name)
    block = "\n".join(f"{name}:{lowered[name]}" for name in names) + "\n"
    return block, ";".join(names)


def payload_hash(headers: Mapping[str, str], body: bytes | None) -> str:
    """sha256("") for no body; otherwise X-Sdk-Content-Sha256 when present
    (UNSIGNED-PAYLOAD), else the body's hex SHA-256."""
    if not body:
        return EMPTY_PAYLOAD_HASH
    declared = _lowered(headers).get(HEADER_CONTENT_SHA256.lower())
    return declared or hashlib.sha256(body).hexdigest()


def canonical_request(
    method: str, path: str, query: Query | None, headers: Mapping[str, str], body: bytes | None
) -> str:
    """`headers` are the signed set exactly as sent (Host and X-Sdk-Date included)."""
    block, signed = canonical_headers(headers)
    return "\n".join(
        [
            method.upper(),
            canonical_uri(path),
            canonical_query(query),
            block,
            signed,
            payload_hash(headers, body),
        ]
    )


def string_to_sign(canonical: str, date_stamp: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{date_stamp}\n{digest}"


def signature(secret: str, to_sign: str) -> str:
    return hmac.new(secret.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def authorization(access_key_id: str, signed_headers: str, sig: str) -> str:
    return f"{ALGORITHM} Access={access_key_id}, SignedHeaders={signed_headers}, Signature={sig}"


def date_stamp(now: datetime | None = None) -> str:
    when = now or datetime.now(UTC)
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    return when.strftime(DATE_FORMAT)


# -- whole requests -------------------------------------------------------------------------


def sign(
    method: str,
    host: str,
    path: str,
    query: Query | None,
    body: bytes | None,
    credentials: Credentials,
    *,
    project_id: str | None = None,
    headers: Mapping[str, str] | None = None,
    content_type: str | None = JSON,
    now: datetime | None = None,
) -> Signed:
    """Sign a request with the AK/SK in `credentials`.

    `path` is percent-encoded as it is sent (path parameters quoted with `safe=""`, as the
    SDK does). `headers` are the caller's own (User-Agent, preset headers); they are all
    signed. `content_type` is added when `headers` carry none (None: add none, the SDK's
    `ignore_content_type_for_get_request`). `host` is the netloc, port included."""
    if credentials.access_key_id is None or credentials.access_key_secret is None:
        raise ValueError("SDK-HMAC-SHA256 signing needs an access key pair")
    out = _base_headers(headers, content_type, project_id)
    if credentials.security_token is not None:
        _put(out, HEADER_SECURITY_TOKEN, credentials.security_token.get_secret_value())
    kind = _get(out, HEADER_CONTENT_TYPE)
    if kind and not kind.startswith(_HASHED_CONTENT_TYPES):
        _put(out, HEADER_CONTENT_SHA256, UNSIGNED_PAYLOAD)
    stamp = date_stamp(now)
    _put(out, HEADER_DATE, stamp)
    if _get(out, HEADER_HOST) is None:
        out[HEADER_HOST] = host
    out = {name: value.strip() for name, value in out.items()}

    canonical = canonical_request(method, path, query, out, body)
    _, signed_names = canonical_headers(out)
    sig = signature(
        credentials.access_key_secret.get_secret_value(), string_to_sign(canonical, stamp)
    )
    out[HEADER_AUTHORIZATION] = authorization(credentials.access_key_id, signed_names, sig)
    return Signed(out, canonical_query(query))


def token_auth(
    query: Query | None,
    credentials: Credentials,
    *,
    project_id: str | None = None,
    headers: Mapping[str, str] | None = None,
    content_type: str | None = JSON,
) -> Signed:
    """Authenticate with the IAM token in `credentials`: `X-Auth-Token`, no signature.
    The headers and query are otherwise those `sign` would send."""
    if credentials.iam_token is None:
        raise ValueError("token authentication needs an IAM token")
    out = _base_headers(headers, content_type, project_id)
    _put(out, HEADER_AUTH_TOKEN, credentials.iam_token.get_secret_value())
    return Signed({name: value.strip() for name, value in out.items()}, canonical_query(query))


def authenticate(
    method: str,
    host: str,
    path: str,
    query: Query | None,
    body: bytes | None,
    credentials: Credentials,
    *,
    project_id: str | None = None,
    headers: Mapping[str, str] | None = None,
    content_type: str | None = JSON,
    now: datetime | None = None,
) -> Signed:
    """The way the credentials call for: an IAM token when they hold one, else AK/SK."""
    if credentials.kind == "iam-token":
        return token_auth(
            query, credentials, project_id=project_id, headers=headers, content_type=content_type
        )
    return sign(
        method,
        host,
        path,
        query,
        body,
        credentials,
        project_id=project_id,
        headers=headers,
        content_type=content_type,
        now=now,
    )


# -- helpers -------------------------------------------------------------------------------


def _lowered(headers: Mapping[str, str]) -> dict[str, str]:
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        if key in lowered:
            raise ValueError(f"header {name!r} given twice (names are case-insensitive)")
        lowered[key] = value.strip()
    return lowered


def _get(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def _put(headers: dict[str, str], name: str, value: str) -> None:
    """Set `name`, replacing a header of the same name in any case."""
    for key in [k for k in headers if k.lower() == name.lower()]:
        del headers[key]
    headers[name] = value


def _base_headers(
    headers: Mapping[str, str] | None, content_type: str | None, project_id: str | None
) -> dict[str, str]:
    out = dict(headers or {})
    _lowered(out)  # refuses names given twice in different case
    if _get(out, HEADER_AUTHORIZATION) is not None:
        raise ValueError("headers must not carry Authorization: it is computed here")
    if content_type is not None and _get(out, HEADER_CONTENT_TYPE) is None:
        out[HEADER_CONTENT_TYPE] = content_type
    if project_id:
        _put(out, HEADER_PROJECT_ID, project_id)
    return out
