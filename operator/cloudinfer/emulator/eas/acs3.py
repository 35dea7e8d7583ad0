"""The emulator's own ACS3-HMAC-SHA256 verifier.

Written from the reference description, independently of the operator's signer
(cloudinfer.clouds.eas.signing) and checked in tests against requests signed by the official
SDK, so a bug in one implementation cannot hide in the other."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote

from cloudinfer.emulator.config import AccessKey
from cloudinfer.emulator.pipeline import ApiError, SignedRequest

__all__ = ["AccessKey", "Acs3Verifier", "SignatureError"]

ALGORITHM = "ACS3-HMAC-SHA256"
MAX_SKEW_SECONDS = 15 * 60


class SignatureError(ApiError):
    pass


class Acs3Verifier:
    def __init__(self, keys: list[AccessKey], clock: object = time.time) -> None:
        self._keys = {k.access_key_id: k for k in keys}
        self._clock = clock
        self._nonces: OrderedDict[str, float] = OrderedDict()

    def check(self, request: SignedRequest) -> AccessKey:
        """The pipeline's verifier: the key that signed `request`, or SignatureError."""
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
    ) -> AccessKey:
        """Check one request; return the key that signed it or raise SignatureError.
        `headers` maps lower-cased names to every value received."""
        auth = _one(headers, "authorization")
        if not auth:
            raise SignatureError(400, "MissingAuthorization", "the Authorization header is missing")
        algorithm, _, rest = auth.partition(" ")
        if algorithm != ALGORITHM:
            raise SignatureError(
                400, "InvalidAuthorization", f"unsupported signature algorithm {algorithm!r}"
            )
        parts = dict(p.strip().split("=", 1) for p in rest.split(",") if "=" in p)
        key_id, signed, signature = (
            parts.get("Credential"),
            parts.get("SignedHeaders"),
            parts.get("Signature"),
        )
        if not (key_id and signed and signature):
            raise SignatureError(400, "InvalidAuthorization", "malformed Authorization header")
        key = self._keys.get(key_id)
        if key is None:
            raise SignatureError(
                401, "InvalidAccessKeyId.NotFound", f"Specified access key is not found: {key_id}"
            )
        if (
            key.security_token is not None
            and _one(headers, "x-acs-security-token") != key.security_token
        ):
            raise SignatureError(
                401,
                "InvalidSecurityToken.Mismatch",
                "the security token does not match the access key",
            )

        payload_hash = hashlib.sha256(body).hexdigest()
        if _one(headers, "x-acs-content-sha256") != payload_hash:
            raise SignatureError(
                400, "InvalidContentSha256", "x-acs-content-sha256 does not match the body"
            )
        signed_names = signed.split(";")
        for required in (
            "host",
            "x-acs-date",
            "x-acs-signature-nonce",
            "x-acs-action",
            "x-acs-version",
            "x-acs-content-sha256",
        ):
            if required not in signed_names:
                raise SignatureError(
                    400, "IncompleteSignature", f"header {required} must be signed"
                )
        self._check_time(_one(headers, "x-acs-date") or "")

        canonical_headers = "".join(
            f"{name}:{','.join(sorted(v.strip() for v in headers.get(name, [])))}\n"
            for name in signed_names
        )
        canonical_request = "\n".join(
            [
                method.upper(),
                raw_path or "/",
                _canonical_query(raw_query),
                canonical_headers,
                signed,
                payload_hash,
            ]
        )
        string_to_sign = f"{ALGORITHM}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"
        expected = hmac.new(
            key.access_key_secret.encode(), string_to_sign.encode(), hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise SignatureError(
                400,
                "SignatureDoesNotMatch",
                "The request signature does not conform to Aliyun standards. "
                f"server string to sign is: {string_to_sign}",
            )
        self._check_nonce(_one(headers, "x-acs-signature-nonce") or "")
        return key

    def _check_time(self, stamp: str) -> None:
        try:
            when = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
        except ValueError as exc:
            raise SignatureError(
                400, "InvalidTimeStamp.Format", f"x-acs-date {stamp!r} is not %Y-%m-%dT%H:%M:%SZ"
            ) from exc
        now = self._clock()  # type: ignore[operator]
        if abs(now - when) > MAX_SKEW_SECONDS:
            raise SignatureError(
                400,
                "InvalidTimeStamp.Expired",
                f"x-acs-date {stamp} is more than 15 minutes from server time",
            )

    def _check_nonce(self, nonce: str) -> None:
        now = self._clock()  # type: ignore[operator]
        while self._nonces and next(iter(self._nonces.values())) < now - 2 * MAX_SKEW_SECONDS:
            self._nonces.popitem(last=False)
        if not nonce or nonce in self._nonces:
            raise SignatureError(400, "SignatureNonceUsed", "the signature nonce has been used")
        self._nonces[nonce] = now


def _one(headers: Mapping[str, list[str]], name: str) -> str | None:
    values = headers.get(name)
    return values[0] if values else None


def _canonical_query(raw_query: str) -> str:
    # On the wire the query is form-encoded ('+' for space); canonically each value is
    # percent-encoded with only unreserved characters left as they are.
    pairs = parse_qsl(raw_query, keep_blank_values=True)
    return "&".join(f"{k}={quote(v, safe='~')}" for k, v in sorted(pairs))
