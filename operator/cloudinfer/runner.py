"""Run the kopf operator in this process with cloudinfer's handlers and settings."""

from __future__ import annotations

import asyncio
import logging
import os

import kopf
import prometheus_client
from kubernetes.config import ConfigException

from cloudinfer.handlers.options import RunOptions
from cloudinfer.kube import Kube, load_api_client
from cloudinfer.logs import configure_logging


def run_operator(options: RunOptions) -> int:
    configure_logging(options.log_format, verbose=options.verbose, debug=options.debug)
    try:
        # Fail fast on a missing or broken kubeconfig instead of retrying a start-up handler.
        kube = Kube(load_api_client(options.kubeconfig))
    except (ConfigException, OSError) as exc:
        logging.getLogger("cloudinfer").error("cannot load cluster credentials: %s", exc)
        return 2
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
            memo=kopf.Memo(options=options, kube=kube),
        )
    )
    return 0
