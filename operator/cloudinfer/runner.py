"""Run the kopf operator in this process with cloudinfer's handlers and settings."""

from __future__ import annotations

import asyncio
import os

import kopf

from cloudinfer.handlers.options import RunOptions
from cloudinfer.logs import configure_logging


def run_operator(options: RunOptions) -> int:
    configure_logging(options.log_format, verbose=options.verbose, debug=options.debug)
    if options.kubeconfig:
        # kopf's own login reads $KUBECONFIG.
        os.environ["KUBECONFIG"] = options.kubeconfig
    import cloudinfer.handlers  # noqa: F401  (registers the handlers)

    asyncio.run(
        kopf.operator(
            clusterwide=not options.namespaces,
            namespaces=options.namespaces,
            liveness_endpoint=options.liveness,
            memo=kopf.Memo(options=options),
        )
    )
    return 0
