"""Invalid ProviderConfigs are refused by the API server itself, naming the field."""

import pytest

from tests.integration.conftest import Cluster

VALID = {
    "cloud": "alibaba-eas",
    "region": "cn-shanghai",
    "credentialsSecretRef": {"name": "creds"},
}


def manifest(namespace: str, spec: dict[str, object]) -> str:
    import json

    return json.dumps(
        {
            "apiVersion": "cloudinfer.io/v1alpha1",
            "kind": "ProviderConfig",
            "metadata": {"name": "bad", "namespace": namespace},
            "spec": spec,
        }
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"cloud": "aws-sagemaker"}, "spec.cloud"),
        ({"region": "CN Shanghai"}, "spec.region"),
        ({"endpoint": "not a url"}, "spec.endpoint"),
        ({"endpoint": "ftp://example.com"}, "spec.endpoint"),
        ({"rateLimit": {"qps": -1}}, "spec.rateLimit.qps"),
        ({"rateLimit": {"qps": 0}}, "spec.rateLimit.qps"),
        ({"rateLimit": {"burst": 0}}, "spec.rateLimit.burst"),
        (
            {"pollIntervals": {"transitionalSeconds": 600, "stableSeconds": 60}},
            "spec.pollIntervals.transitionalSeconds",
        ),
        ({"cloud": "huawei-modelarts"}, "spec.projectId"),
        ({"credentialsSecretRef": {"name": "Bad_Name"}}, "spec.credentialsSecretRef.name"),
        ({"credentialsSecretRef": None}, "spec.credentialsSecretRef"),
        ({"unknownField": 1}, "unknownField"),
    ],
    ids=lambda v: str(v)[:40],
)
def test_invalid_spec_is_rejected_naming_the_field(
    cluster: Cluster, namespace: str, change: dict[str, object], field: str
) -> None:
    spec = {**VALID, **change}
    spec = {k: v for k, v in spec.items() if v is not None}
    result = cluster.kubectl("apply", "-f", "-", input=manifest(namespace, spec), check=False)
    assert result.returncode != 0, f"accepted: {spec}"
    assert field in result.stderr, result.stderr
    assert cluster.kubectl("get", "cipc", "bad", "-n", namespace, check=False).returncode != 0


def test_valid_spec_gets_defaults(cluster: Cluster, namespace: str) -> None:
    cluster.kubectl(
        "apply",
        "-f",
        "-",
        input=manifest(namespace, {**VALID, "endpoint": "http://127.0.0.1:8080"}),
    )
    obj = cluster.get("providerconfigs", "bad", namespace)
    assert obj["spec"]["rateLimit"] == {"qps": 10, "burst": 20}
    assert obj["spec"]["pollIntervals"] == {"transitionalSeconds": 5, "stableSeconds": 300}
