"""Logging set-up: kopf's formatter (plain, full or JSON), one stream on stderr."""

from __future__ import annotations

import logging

import kopf

_FORMATS = {"plain": kopf.LogFormat.PLAIN, "full": kopf.LogFormat.FULL, "json": kopf.LogFormat.JSON}


def configure_logging(
    log_format: str = "plain", *, verbose: bool = False, debug: bool = False
) -> None:
    kopf.configure(
        debug=debug, verbose=verbose or debug, log_format=_FORMATS[log_format], log_refkey="object"
    )
    if not (verbose or debug):
        # kopf says "Handler 'inferenceservice-event' succeeded." at INFO for every watch
        # event: 60,000 lines and a tenth of the CPU for a burst of 10,000. Its warnings and
        # errors (a handler that failed) still show.
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    if not debug:
        # The Kubernetes client and HTTP libraries log request details at DEBUG; keep them
        # out unless asked, so headers never reach the log.
        for name in ("kubernetes", "urllib3", "httpx", "httpcore", "aiohttp"):
            logging.getLogger(name).setLevel(logging.WARNING)
