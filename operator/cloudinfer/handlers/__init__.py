"""kopf wiring: importing this package registers every handler."""

from cloudinfer.handlers import inferenceservice, providerconfig, startup

__all__ = ["inferenceservice", "providerconfig", "startup"]
