"""kopf wiring: importing this package registers every handler."""

from cloudinfer.handlers import indexes, managed, providerconfig, startup, usage

__all__ = ["indexes", "managed", "providerconfig", "startup", "usage"]
