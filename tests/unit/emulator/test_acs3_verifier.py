"""The emulator's verifier accepts what the operator's signer produces and refuses tampering,
stale dates, replays and unsigned required headers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from pydantic import SecretStr

from cloudinfer.clouds.alibaba import acs3 as signing
from cloudinfer.clouds.alibaba.eas.client import API_VERSION
from cloudinfer.credentials import Credentials
from cloudinfer.emulator.eas.acs3 import AccessKey, Acs3Verifier, SignatureError

NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
KEY = AccessKey("id", "secret")
CREDS = Credentials(access_key_id="id", access_key_secret=SecretStr("secret"))


def signed(
    body: bytes = b'{"name":"x"}',
    query: dict[str, str] | None = None,
    when: datetime = NOW,
    nonce: str = "n1",
) -> tuple[dict[str, list[str]], str]:
    query = query if query is not None else {"Labels": '{"a":"b c+d"}'}
    headers = signing.sign(
        "POST",
        "h:1",
        "/api/v2/services",
        query,
        body,
        "CreateService",
        CREDS,
        API_VERSION,
        now=when,
        nonce=nonce,
    )
    return {k.lower(): [v] for k, v in headers.items()}, urlencode(query)


def verifier() -> Acs3Verifier:
    return Acs3Verifier([KEY], clock=lambda: NOW.timestamp())


def check(v: Acs3Verifier, headers: dict[str, list[str]], query: str, body: bytes) -> None:
    v.verify("POST", "/api/v2/services", query, headers, body)


def test_accepts_our_signature() -> None:
    headers, query = signed()
    check(verifier(), headers, query, b'{"name":"x"}')


def test_refuses_a_tampered_body_or_query() -> None:
    headers, query = signed()
    with pytest.raises(SignatureError) as body:
        check(verifier(), headers, query, b'{"name":"y"}')
    assert body.value.code == "InvalidContentSha256"
    with pytest.raises(SignatureError) as changed:
        check(verifier(), headers, urlencode({"Labels": '{"a":"other"}'}), b'{"name":"x"}')
    assert changed.value.code == "SignatureDoesNotMatch"


def test_refuses_stale_dates_and_replays() -> None:
    headers, query = signed(when=NOW - timedelta(minutes=16))
    with pytest.raises(SignatureError) as stale:
        check(verifier(), headers, query, b'{"name":"x"}')
    assert stale.value.code == "InvalidTimeStamp.Expired"
    v = verifier()
    headers, query = signed(nonce="once")
    check(v, headers, query, b'{"name":"x"}')
    with pytest.raises(SignatureError) as replay:
        check(v, headers, query, b'{"name":"x"}')
    assert replay.value.code == "SignatureNonceUsed"


def test_required_headers_must_be_signed() -> None:
    headers, query = signed()
    auth = headers["authorization"][0].replace("x-acs-signature-nonce;", "")
    headers["authorization"] = [auth]
    with pytest.raises(SignatureError) as unsigned:
        check(verifier(), headers, query, b'{"name":"x"}')
    assert unsigned.value.code == "IncompleteSignature"
