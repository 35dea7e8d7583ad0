"""Which Secret keys each cloud needs; messages name keys, never values."""

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudinfer.credentials import CredentialsError, credentials_from_secret, decode_secret_data
from cloudinfer.reconcile.providerconfig import evaluate


def b64(values: dict[str, str]) -> dict[str, str]:
    return {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}


def test_alibaba_needs_key_pair() -> None:
    creds = credentials_from_secret(
        "alibaba-eas", "ns/s", {"accessKeyId": "id", "accessKeySecret": "sk"}
    )
    assert creds.kind == "access-key" and creds.access_key_id == "id"
    assert (
        creds.access_key_secret is not None and creds.access_key_secret.get_secret_value() == "sk"
    )
    with pytest.raises(CredentialsError) as err:
        credentials_from_secret("alibaba-eas", "ns/s", {"iamToken": "tok", "accessKeyId": "id"})
    assert err.value.reason == "SecretKeyMissing"
    assert '"accessKeySecret"' in err.value.message and "iamToken" not in err.value.message


def test_huawei_accepts_iam_token_or_pair() -> None:
    assert credentials_from_secret("huawei-modelarts", "s", {"iamToken": "t"}).kind == "iam-token"
    pair = credentials_from_secret(
        "huawei-vias", "s", {"accessKeyId": "a", "accessKeySecret": "b", "securityToken": "st"}
    )
    assert pair.kind == "access-key" and pair.security_token is not None
    with pytest.raises(CredentialsError) as err:
        credentials_from_secret("huawei-fabric", "s", {})
    assert (
        "iamToken" in err.value.message and '"accessKeyId", "accessKeySecret"' in err.value.message
    )


def test_blank_values_count_as_missing() -> None:
    with pytest.raises(CredentialsError) as err:
        credentials_from_secret("alibaba-eas", "s", {"accessKeyId": "id", "accessKeySecret": "  "})
    assert "accessKeySecret empty" in err.value.message


def test_repr_hides_values() -> None:
    creds = credentials_from_secret(
        "alibaba-eas", "s", {"accessKeyId": "id", "accessKeySecret": "hunter2"}
    )
    assert "hunter2" not in repr(creds) and "hunter2" not in str(creds)


def test_undecodable_data_is_ignored() -> None:
    assert decode_secret_data({"a": "!!!notbase64", "b": base64.b64encode(b"ok").decode()}) == {
        "b": "ok"
    }


def test_evaluate_missing_secret_names_it() -> None:
    verdict = evaluate("alibaba-eas", "team-a", "creds", None)
    assert not verdict.ready and verdict.reason == "SecretNotFound"
    assert '"team-a/creds"' in verdict.message and "accessKeyId" in verdict.message


@given(
    st.dictionaries(
        st.sampled_from(["accessKeyId", "accessKeySecret", "iamToken", "securityToken", "x"]),
        st.text(min_size=4, alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"])),
    ),
    st.sampled_from(["alibaba-eas", "huawei-modelarts", "huawei-fabric", "huawei-vias"]),
)
def test_messages_never_contain_values(values: dict[str, str], cloud: str) -> None:
    verdict = evaluate(cloud, "ns", "s", b64(values))
    # The message without any value: its own words (the cloud's name, key names) may contain
    # a short value by chance ("huaw"), which is no leak.
    template = evaluate(cloud, "ns", "s", b64(dict.fromkeys(values, "\x00"))).message
    for value in values.values():
        if value.strip() and len(value.strip()) >= 4 and value.strip() not in template:
            assert value.strip() not in verdict.message.replace('"ns/s"', "")
