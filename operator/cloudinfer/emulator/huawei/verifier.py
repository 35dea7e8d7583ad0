"""The emulator's own check of Huawei Cloud request authentication, as the API gateway does it.

Written from the algorithm's description (reference/huawei.md §2, Huawei's signing guide),
independently of the operator's signer (cloudinfer.clouds.huawei.signer: not imported, and
no shared helper), and checked in tests against requests signed by `huaweicloudsdkcore`, so a
bug in one implementation cannot hide in the other.

A request is accepted when it carries either
  * `Authorization: SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<a;b>, Signature=<hex>` from a
    known key, with `x-sdk-date` signed and within 15 minutes of the emulator's clock, and a
    signature recomputed from the request as received; temporary keys must also send (and
    sign) their `X-Security-Token`; or
  * `X-Auth-Token` with a token the emulator was given.
Anything else is the gateway's 401 `APIGW.0301` "Incorrect IAM authentication information:
...", answered in the gateway's body shape `{error_code, error_msg, request_id}`
(`GatewayError.body`).

How the received request is read (the gateway sees text only):
  * URI: the raw path percent-decoded, split on `/`, each segment re-encoded keeping only
    `A-Z a-z 0-9 - _ . ~`, a `/` appended unless it ends with one;
  * query: `&`-separated pairs, `+` and `%XX` decoded, sorted by key then value (as text),
    re-encoded as above, `k=v` joined by `&` (`k=` for an empty value);
  * headers: `name:value` per signed name (values trimmed, one line per value, sorted),
    each line ending in a newline; a signed header that was not sent fails the check;
  * payload: sha256 of an empty body; otherwise the `x-sdk-content-sha256` header when
    sent (`UNSIGNED-PAYLOAD`, or a hash that must match the body), else the body's sha256."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import unquote

from cloudinfer.emulator.config import AccessKey
from cloudinfer.emulator.pipeline import ApiError, SignedRequest

__all__ = ["AccessKey", "GatewayError", "HuaweiCaller", "HuaweiVerifier"]

SCHEME = "SDK-HMAC-SHA256"
CODE = "APIGW.0301"
MAX_SKEW_SECONDS = 15 * 60
_STAMP = "%Y%m%dT%H%M%SZ"
_UNSIGNED = "UNSIGNED-PAYLOAD"
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
_AUTH = re.compile(
    r"^SDK-HMAC-SHA256\s+Access=(?P<ak>[^,\s]+)\s*,\s*SignedHeaders=(?P<signed>[^,\s]+)"
    r"\s*,\s*Signature=(?P<sig>[0-9a-fA-F]+)\s*$"
)


class GatewayError(ApiError):
    """The API gateway's refusal: 401 APIGW.0301, body `{error_code, error_msg,
    request_id}` (a Huawei dialect writes it with `body`)."""

    def __init__(self, detail: str) -> None:
        super().__init__(401, CODE, f"Incorrect IAM authentication information: {detail}")

    def body(self, request_id: str) -> dict[str, str]:
        return {"error_code": self.code, "error_msg": self.message, "request_id": request_id}


@dataclass(frozen=True)
class HuaweiCaller:
    """Who sent an accepted request. `account` scopes every handler; `project_id` is the
    `X-Project-Id` header when sent (the path's project is the handler's to check)."""

    account: str
    access_key_id: str | None = None  # None when authenticated by IAM token
    project_id: str | None = None


class HuaweiVerifier:
    def __init__(
        self,
        keys: list[AccessKey],
        tokens: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`keys`: accepted AK/SK pairs; `tokens`: accepted IAM tokens → their account."""
        self._keys = {k.access_key_id: k for k in keys}
        self._tokens = dict(tokens or {})
        self._clock = clock

    def check(self, request: SignedRequest) -> HuaweiCaller:
        """The pipeline's verifier: the caller of `request`, or GatewayError."""
        return self.verify(
            request.method, request.raw_path, request.raw_query, request.headers, request.body
        )

    def verify(
        self,
        method: str,
        raw_path: str,
        raw_query: str,
        headers: Mapping[str, list[str]],
        body: bytes,
    ) -> HuaweiCaller:
        """`headers` maps lower-cased names to every value received."""
        project = _first(headers, "x-project-id")
        authorization = _first(headers, "authorization")
        if authorization is None:
            token = _first(headers, "x-auth-token")
            if token is None:
                raise GatewayError("x-auth-token not found")
            account = self._tokens.get(token)
            if account is None:
                raise GatewayError("decrypt token fail")
            return HuaweiCaller(account, None, project)

        parsed = _AUTH.match(authorization.strip())
        if parsed is None:
            raise GatewayError("verify aksk signature fail, malformed Authorization header")
        key = self._keys.get(parsed["ak"])
        if key is None:
            raise GatewayError("Get secretKey failed")
        signed = parsed["signed"].split(";")
        if "x-sdk-date" not in signed:
            raise GatewayError("verify aksk signature fail, x-sdk-date must be signed")
        self._check_date(_first(headers, "x-sdk-date") or "")
        if key.security_token is not None and (
            "x-security-token" not in signed
            or _first(headers, "x-security-token") != key.security_token
        ):
            raise GatewayError("verify aksk signature fail, security token mismatch")

        lines: list[str] = []
        for name in signed:
            values = headers.get(name)
            if not values:
                raise GatewayError(f"verify aksk signature fail, signed header {name} not sent")
            lines.extend(f"{name}:{v.strip()}" for v in sorted(values))
        canonical = "\n".join(
            [
                method.upper(),
                _uri(raw_path),
                _query(raw_query),
                "".join(line + "\n" for line in lines),
                parsed["signed"],
                self._payload(headers, body),
            ]
        )
        digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        to_sign = "\n".join([SCHEME, _first(headers, "x-sdk-date") or "", digest])
        expected = hmac.new(
            key.access_key_secret.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(expected, parsed["sig"].lower()):
            raise GatewayError("verify aksk signature fail")
        return HuaweiCaller(key.account, key.access_key_id, project)

    def _check_date(self, stamp: str) -> None:
        try:
            signed_at = datetime.strptime(stamp, _STAMP).replace(tzinfo=UTC).timestamp()
        except ValueError as exc:
            raise GatewayError(f"verify aksk signature fail, invalid x-sdk-date {stamp!r}") from exc
        now = self._clock()
        if abs(now - signed_at) > MAX_SKEW_SECONDS:
            server = datetime.fromtimestamp(now, UTC).strftime(_STAMP)
            raise GatewayError(f"signature expired, signature time:{stamp},server time:{server}")

    @staticmethod
    def _payload(headers: Mapping[str, list[str]], body: bytes) -> str:
        actual = hashlib.sha256(body).hexdigest()
        if not body:
            return actual
        declared = _first(headers, "x-sdk-content-sha256")
        if declared is None or declared == _UNSIGNED:
            return declared or actual
        if declared.lower() != actual:
            raise GatewayError("verify aksk signature fail, x-sdk-content-sha256 mismatch")
        return declared


def _first(headers: Mapping[str, list[str]], name: str) -> str | None:
    values = headers.get(name)
    return values[0] if values else None


def _escape(text: str) -> str:
    return "".join(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in text.encode("utf-8"))


def _uri(raw_path: str) -> str:
    uri = "/".join(_escape(segment) for segment in unquote(raw_path or "/").split("/"))
    return uri if uri.endswith("/") else f"{uri}/"


def _query(raw_query: str) -> str:
    pairs = []
    for part in raw_query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        pairs.append((unquote(key.replace("+", " ")), unquote(value.replace("+", " "))))
    pairs.sort()
    return "&".join(f"{_escape(k)}={_escape(v)}" for k, v in pairs)
