"""The generated CRDs install on a real API server and explain themselves."""

from tests.integration.conftest import Cluster
from tests.support import wait_for


def explain(cluster: Cluster, what: str) -> str:
    # The API server publishes a new CRD's OpenAPI shortly after it is Established.
    def attempt() -> str | None:
        result = cluster.kubectl("explain", what, check=False)
        return result.stdout if result.returncode == 0 else None

    return wait_for(attempt, 30, f"kubectl explain {what}")


def test_crds_are_established_and_explained(cluster: Cluster) -> None:
    out = explain(cluster, "providerconfig.spec")
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
    deep = explain(cluster, "clusterproviderconfig.spec.rateLimit.qps")
    assert "Sustained requests per second." in deep


def test_short_names_and_category(cluster: Cluster, namespace: str) -> None:
    assert cluster.kubectl("get", "cipc", "-n", namespace).returncode == 0
    assert cluster.kubectl("get", "cicpc").returncode == 0
    assert cluster.kubectl("get", "cloudinfer", "-n", namespace).returncode == 0
