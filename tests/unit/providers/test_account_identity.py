"""The account identity recorded with each resource: a move to another account changes it,
a key rotation within one does not."""

from __future__ import annotations

from pydantic import SecretStr

from cloudinfer.api.providerconfig import ProviderConfigSpec
from cloudinfer.credentials import Credentials
from cloudinfer.providers import provider_for

SPEC = ProviderConfigSpec.model_validate(
    {"cloud": "alibaba-eas", "region": "cn-shanghai", "credentialsSecretRef": {"name": "s"}}
)


def identity(spec: ProviderConfigSpec = SPEC, **creds: object) -> str:
    provider = provider_for("alibaba-eas")
    assert provider is not None
    return provider.account_identity(spec, Credentials(**creds))  # type: ignore[arg-type]


def test_account_identity() -> None:
    secret = SecretStr("s")
    long_term = identity(access_key_id="AK1", access_key_secret=secret)
    assert long_term == identity(access_key_id="AK1", access_key_secret=SecretStr("rotated"))
    assert long_term != identity(access_key_id="AK2", access_key_secret=secret)  # maybe a move
    # accountId names the account: a new key id in it is no move, another account is.
    named = identity(access_key_id="AK1", access_key_secret=secret, account_id="123")
    assert named == identity(access_key_id="AK9", access_key_secret=secret, account_id="123")
    assert named != identity(access_key_id="AK1", access_key_secret=secret, account_id="456")
    # STS keys get a new id at every refresh: never taken for a move.
    sts = identity(access_key_id="STS.a", access_key_secret=secret, security_token=secret)
    assert sts == identity(access_key_id="STS.b", access_key_secret=secret, security_token=secret)
    # Another region or endpoint is another place, whatever the keys.
    elsewhere = SPEC.model_copy(update={"region": "cn-hangzhou"})
    assert long_term != identity(elsewhere, access_key_id="AK1", access_key_secret=secret)
