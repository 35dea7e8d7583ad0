"""Run the kopf operator in this process with cloudinfer's handlers and settings."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import logging
import os

import kopf
import prometheus_client
from kubernetes.config import ConfigException

from cloudinfer.handlers.options import RunOptions
from cloudinfer.kube import Kube, load_api_client
from cloudinfer.logs import configure_logging
from cloudinfer.runtime.leader import KubeLease


def _fewer_malloc_arenas() -> None:
    """glibc gives each thread that allocates its own malloc arena (up to 8 per core); the
    Kubernetes client's threads would each keep one warm. Two are plenty for this process
    and keep its RSS flat (the same as MALLOC_ARENA_MAX=2, set before any thread starts)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-8, 2)  # M_ARENA_MAX


def run_operator(options: RunOptions) -> int:
    _fewer_malloc_arenas()
    configure_logging(options.log_format, verbose=options.verbose, debug=options.debug)
    try:
        # Fail fast on a missing or broken kubeconfig instead of retrying a start-up handler.
        api_client = load_api_client(options.kubeconfig)
    except (ConfigException, OSError) as exc:
        logging.getLogger("cloudinfer").error("cannot load cluster credentials: %s", exc)
        return 2
    if options.manage_crds:
        from cloudinfer.crdsync import CrdSyncError, apply_crds

        try:
            apply_crds(api_client)
        except CrdSyncError as exc:
            logging.getLogger("cloudinfer").error("%s", exc)
            return 2
    # Watching some namespaces only, it may not write Events into `default`.
    kube = Kube(
        api_client,
        cluster_events_namespace=options.operator_namespace if options.namespaces else "default",
    )
    lease = (
        KubeLease(
            api_client.configuration, options.operator_namespace, options.leader_election_lease
        )
        if options.leader_election
        else None
    )
    if options.metrics_port is not None:
        prometheus_client.start_http_server(options.metrics_port)
    if options.kubeconfig:
        # kopf's own login reads $KUBECONFIG.
        os.environ["KUBECONFIG"] = options.kubeconfig
    import cloudinfer.handlers  # noqa: F401  (registers the handlers)

    asyncio.run(
        kopf.operator(
            clusterwide=not options.namespaces,
            namespaces=options.namespaces,
            liveness_endpoint=options.liveness,
            memo=kopf.Memo(options=options, kube=kube, lease=lease),
        )
    )
    return 0
