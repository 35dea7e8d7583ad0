"""Alibaba Cloud PAI-EAS, API version 2021-07-01."""

from cloudinfer.clouds.alibaba.eas.client import EasClient
from cloudinfer.clouds.alibaba.eas.models import EasService

__all__ = ["EasClient", "EasService"]
