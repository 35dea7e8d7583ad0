"""The provider registry: one entry per cloud. Adding a cloud is a module here (how its
accounts are identified and opened, its adapters and listers per kind, its error table) and
one line below; the runtime does not change."""

from __future__ import annotations

from cloudinfer.providers import alibaba_eas, huawei_fabric, huawei_modelarts, huawei_vias
from cloudinfer.providers.base import Provider

PROVIDERS: dict[str, Provider] = {
    p.cloud: p
    for p in (
        alibaba_eas.PROVIDER,
        huawei_modelarts.PROVIDER,
        huawei_fabric.PROVIDER,
        huawei_vias.PROVIDER,
    )
}


def provider_for(cloud: str) -> Provider | None:
    return PROVIDERS.get(cloud)
