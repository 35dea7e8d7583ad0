"""The generated CRDs install on a real API server and explain themselves."""

from tests.integration.conftest import Cluster


def test_crds_are_established_and_explained(cluster: Cluster) -> None:
    out = cluster.kubectl("explain", "providerconfig.spec").stdout
    assert "Which cloud API to call, where, and with which credentials." in out
    for field in (
        "cloud",
        "region",
        "endpoint",
        "credentialsSecretRef",
        "rateLimit",
        "pollIntervals",
    ):
        assert field in out
    deep = cluster.kubectl("explain", "clusterproviderconfig.spec.rateLimit.qps").stdout
    assert "Sustained requests per second." in deep


def test_short_names_and_category(cluster: Cluster, namespace: str) -> None:
    assert cluster.kubectl("get", "cipc", "-n", namespace).returncode == 0
    assert cluster.kubectl("get", "cicpc").returncode == 0
    assert cluster.kubectl("get", "cloudinfer", "-n", namespace).returncode == 0
