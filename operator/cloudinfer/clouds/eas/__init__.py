"""Alibaba Cloud PAI-EAS, API version 2021-07-01."""

from cloudinfer.clouds.eas.client import EasClient
from cloudinfer.clouds.eas.models import EasService

__all__ = ["EasClient", "EasService"]
