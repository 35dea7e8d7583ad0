"""Resolving the Secret keys a spec references, from the Secret index: the path of the
reference and the Secret/key in every refusal, never a value."""

from __future__ import annotations

import base64
from typing import Any

from cloudinfer.api.inferenceservice import InferenceServiceSpec
from cloudinfer.runtime.cache import SecretFacts, secret_facts
from cloudinfer.runtime.resolve import Blocked, SecretLookup
from cloudinfer.runtime.secretrefs import referenced_secrets, secret_values

REF = "spec.eas.containers[0].env[{}].valueFrom.secretKeyRef"


def spec() -> InferenceServiceSpec:
    def ref(name: str, secret: str, key: str) -> dict[str, Any]:
        return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}

    return InferenceServiceSpec.model_validate(
        {
            "providerConfigRef": {"name": "pc"},
            "eas": {
                "containers": [
                    {
                        "image": "img",
                        "env": [
                            {"name": "PLAIN", "value": "x"},
                            ref("A", "keys", "a"),
                            ref("B", "other", "b"),
                        ],
                    }
                ]
            },
        }
    )


def facts(**values: str) -> SecretFacts:
    data = {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}
    return secret_facts({"metadata": {"namespace": "ns"}, "data": data})


def lookup(**secrets: SecretFacts) -> SecretLookup:
    return lambda namespace, name: secrets.get(name) if namespace == "ns" else None


def test_every_reference_resolved_by_its_path() -> None:
    secrets = lookup(keys=facts(a="va"), other=facts(b="vb"))
    assert secret_values(spec(), "ns", secrets) == {REF.format(1): "va", REF.format(2): "vb"}
    assert referenced_secrets(spec(), "ns") == {("ns", "keys"), ("ns", "other")}


def test_a_missing_secret_or_key_names_the_path_and_the_secret_never_a_value() -> None:
    missing = secret_values(spec(), "ns", lookup(keys=facts(a="S3CR3T")))
    assert missing == Blocked("SecretNotFound", f'Secret "ns/other" ({REF.format(2)}) not found')
    wrong_key = lookup(keys=facts(a="S3CR3T"), other=facts(c="S3CR3T"))
    blocked = secret_values(spec(), "ns", wrong_key)
    assert blocked == Blocked(
        "SecretKeyMissing", f'Secret "ns/other" has no key "b" ({REF.format(2)})'
    )
    big = secret_facts({"metadata": {}, "data": {"b": "QUFB" * 30000}})
    unusable = secret_values(spec(), "ns", lookup(keys=facts(a="va"), other=big))
    assert isinstance(unusable, Blocked) and unusable.reason == "SecretKeyUnusable"
    assert REF.format(2) in unusable.message and "QUFB" not in unusable.message


def test_deletion_needs_no_secret() -> None:
    secrets = lookup(keys=facts(a="va"))
    assert secret_values(spec(), "ns", secrets, lenient=True) == {REF.format(1): "va"}
