"""Each kustomize overlay applies with a strict server-side dry run on the real API server."""

from __future__ import annotations

import contextlib

import kubernetes
import pytest

from tests.integration.conftest import ROOT, Cluster


@pytest.mark.parametrize("overlay", ["default", "overlays/namespaced", "overlays/dev"])
def test_the_overlay_applies_with_a_strict_server_side_dry_run(
    cluster: Cluster, overlay: str
) -> None:
    with contextlib.suppress(kubernetes.client.ApiException):  # the overlay's example team
        cluster.core.create_namespace({"metadata": {"name": "team-a"}})
    rendered = cluster.kubectl("kustomize", str(ROOT / "config" / overlay)).stdout
    result = cluster.kubectl(
        "apply",
        "--server-side",
        "--force-conflicts",
        "--dry-run=server",
        "--validate=strict",
        "-f",
        "-",
        input=rendered,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    applied = "deployment.apps/cloudinfer-controller serverside-applied (server dry run)"
    assert applied in result.stdout
