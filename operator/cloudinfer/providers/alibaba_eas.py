"""Alibaba Cloud PAI-EAS: InferenceService (`spec.eas`), client-named by service name."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from cloudinfer.adapters.base import OWNER_LABEL
from cloudinfer.adapters.eas import EasInferenceServiceAdapter, fingerprint, transition
from cloudinfer.clouds.alibaba.eas import EasClient, EasService
from cloudinfer.clouds.alibaba.eas.client import TABLE, default_endpoint
from cloudinfer.clouds.errors import NotFound
from cloudinfer.clouds.ratelimit import RateLimiter
from cloudinfer.credentials import Credentials
from cloudinfer.observer.batch import BatchObserver, ListResult
from cloudinfer.providers.base import Account, AccountKey, Notify, Provider

KIND = "InferenceService"


class EasServices:
    """The observer's view of one account's services: paged listing, Describe by name."""

    def __init__(self, client: EasClient) -> None:
        self.client = client

    async def list_all(self) -> ListResult[EasService]:
        services, calls = await self.client.list_all_services()
        return ListResult(services, calls)

    async def describe(self, key: str) -> EasService | None:
        try:
            return await self.client.describe_service(key)
        except NotFound:
            return None

    def key_of(self, item: EasService) -> str:
        return item.name

    def owner_of(self, item: EasService) -> str | None:
        return item.labels.get(OWNER_LABEL)

    def fingerprint(self, item: EasService) -> object:
        return fingerprint(item)

    def transition(self, item: EasService) -> str | None:
        return transition(item)


def open_account(key: AccountKey, creds: Credentials, notify: Notify) -> Account:
    limiter = RateLimiter(key.qps, key.burst)
    client = EasClient(key.region, creds, endpoint=key.endpoint, limiter=limiter)
    observer: BatchObserver[EasService, Hashable] = BatchObserver(
        key.short, EasServices(client), notify, key.intervals
    )
    observers: dict[str, BatchObserver[Any, Hashable]] = {KIND: observer}
    adapter = EasInferenceServiceAdapter(client, observer)
    return Account(key, {KIND: adapter}, observers, client.aclose)


PROVIDER = Provider(
    cloud="alibaba-eas",
    kinds=frozenset({KIND}),
    default_endpoint=default_endpoint,
    errors=TABLE,
    open=open_account,
)
