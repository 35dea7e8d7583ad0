"""Run-time options of the operator process, handed to handlers through kopf's memo."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

DEFAULT_OPERATOR_NAMESPACE = "cloudinfer-system"


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
    peering: str | None = None  # None: standalone, no peering objects
    priority: int = 0
    liveness: str | None = None  # e.g. http://0.0.0.0:8080/healthz
    metrics_port: int | None = None  # serve Prometheus metrics on this port
    log_format: str = "plain"
    verbose: bool = False
    debug: bool = False
    workers: int = 16  # concurrent reconciles (at most half of them on one cloud account)
    resync_seconds: float = 3600.0  # look at every resource again this often (jittered)
