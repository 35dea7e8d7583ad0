"""kopf wiring: importing this package registers every handler."""

from cloudinfer.handlers import providerconfig, startup

__all__ = ["providerconfig", "startup"]
