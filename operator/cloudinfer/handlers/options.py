"""Run-time options of the operator process, handed to handlers through kopf's memo."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

DEFAULT_OPERATOR_NAMESPACE = "cloudinfer-system"


def in_a_pod() -> bool:
    """The kubelet sets $KUBERNETES_SERVICE_HOST in every container."""
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST"))


def default_operator_namespace() -> str:
    return (
        os.environ.get("CLOUDINFER_NAMESPACE")
        or os.environ.get("POD_NAMESPACE")
        or DEFAULT_OPERATOR_NAMESPACE
    )


@dataclass
class RunOptions:
    kubeconfig: str | None = None
    namespaces: list[str] = field(default_factory=list)  # empty: every namespace
    operator_namespace: str = field(default_factory=default_operator_namespace)
    # Act only while holding the Lease `leader_election_lease` in the operator namespace
    # (replicas: one acts, the others stand by). Default: on in a pod, off elsewhere.
    leader_election: bool = field(default_factory=in_a_pod)
    leader_election_lease: str = "cloudinfer-leader"
    liveness: str | None = None  # e.g. http://0.0.0.0:8080/healthz
    metrics_port: int | None = None  # serve Prometheus metrics on this port
    log_format: str = "plain"
    verbose: bool = False
    debug: bool = False
    workers: int = 16  # concurrent reconciles (at most half of them on one cloud account)
    # Apply this build's CRDs at start (server-side, forced): `helm upgrade` does not.
    manage_crds: bool = False
    resync_seconds: float = 3600.0  # look at every resource again this often (jittered)
