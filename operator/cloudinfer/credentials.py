"""Which Secret keys each cloud needs, and turning a Secret's data into credentials.

Pure logic: no Kubernetes calls. Values are held as `SecretStr` so a stray repr or log line
shows `**********` instead of the key."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import SecretStr

ACCESS_KEY_ID = "accessKeyId"
ACCESS_KEY_SECRET = "accessKeySecret"
SECURITY_TOKEN = "securityToken"
IAM_TOKEN = "iamToken"
# Optional, not secret: the cloud account the keys belong to. Recorded (as a digest) with
# each resource, so a Secret pointed at another account is noticed and key rotation is not.
ACCOUNT_ID = "accountId"

_KEY_PAIR = (ACCESS_KEY_ID, ACCESS_KEY_SECRET)
# Every key a credentials Secret may hold: the operator keeps these and nothing else.
CREDENTIAL_KEYS = (ACCESS_KEY_ID, ACCESS_KEY_SECRET, SECURITY_TOKEN, IAM_TOKEN, ACCOUNT_ID)


@dataclass(frozen=True)
class Credentials:
    """What a cloud client signs requests with: an AK/SK pair (optionally with a security
    token for temporary credentials) or, on Huawei, an IAM token."""

    access_key_id: str | None = None
    access_key_secret: SecretStr | None = None
    security_token: SecretStr | None = None
    iam_token: SecretStr | None = None
    account_id: str | None = None

    @property
    def kind(self) -> str:
        return "iam-token" if self.iam_token is not None else "access-key"


class CredentialsError(ValueError):
    """The Secret cannot serve as credentials. `reason` is a condition reason; the message
    names the Secret and the keys, never a value."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def accepts_iam_token(cloud: str) -> bool:
    return cloud.startswith("huawei-")


def required_keys_text(cloud: str) -> str:
    pair = f"{ACCESS_KEY_ID} and {ACCESS_KEY_SECRET}"
    if accepts_iam_token(cloud):
        return f"{pair} (or {IAM_TOKEN})"
    return pair


def decode_secret_data(data: Mapping[str, str] | None) -> dict[str, str]:
    """Secret `.data` (base64) → text values. Undecodable values count as absent."""
    out: dict[str, str] = {}
    for key, value in (data or {}).items():
        try:
            out[key] = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
    return out


def credentials_from_secret(cloud: str, secret_name: str, values: Mapping[str, str]) -> Credentials:
    """Build credentials for `cloud` from decoded Secret values, or raise CredentialsError
    naming what is missing. Blank values count as missing."""
    present = {k: v.strip() for k, v in values.items() if v.strip()}

    def secret(key: str) -> SecretStr | None:
        return SecretStr(present[key]) if key in present else None

    has_pair = all(k in present for k in _KEY_PAIR)
    if has_pair:
        return Credentials(
            access_key_id=present[ACCESS_KEY_ID],
            access_key_secret=secret(ACCESS_KEY_SECRET),
            security_token=secret(SECURITY_TOKEN),
            account_id=present.get(ACCOUNT_ID),
        )
    if accepts_iam_token(cloud) and IAM_TOKEN in present:
        return Credentials(iam_token=secret(IAM_TOKEN), account_id=present.get(ACCOUNT_ID))

    missing = [k for k in _KEY_PAIR if k not in present]
    blank = [k for k in missing if k in values]
    what = ", ".join(f'"{k}"' for k in missing)
    detail = f" ({', '.join(blank)} empty)" if blank else ""
    alternative = f' or an IAM token in key "{IAM_TOKEN}"' if accepts_iam_token(cloud) else ""
    return_message = (
        f'Secret "{secret_name}" lacks key {what}{detail}: cloud {cloud} needs '
        f'"{ACCESS_KEY_ID}" and "{ACCESS_KEY_SECRET}"{alternative}'
    )
    raise CredentialsError("SecretKeyMissing", return_message)
