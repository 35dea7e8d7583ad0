"""Huawei Cloud VIAS: AlgorithmService, client-named by algorithm id."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from cloudinfer.adapters.vias import (
    Listed,
    ViasAlgorithmServiceAdapter,
    fingerprint,
    summary_of,
    transition,
)
from cloudinfer.api.providerconfig import ProviderConfigSpec
from cloudinfer.clouds.errors import NotFound
from cloudinfer.clouds.huawei.vias import ViasClient
from cloudinfer.clouds.huawei.vias.client import TABLE, default_endpoint
from cloudinfer.clouds.ratelimit import RateLimiter
from cloudinfer.credentials import Credentials
from cloudinfer.observer.batch import BatchObserver, ListResult
from cloudinfer.providers.base import Account, AccountKey, Notify, Provider

KIND = "AlgorithmService"
LIST_SHARE = 0.1  # of the account's rate limit, for the listings that follow a burst


def scope(spec: ProviderConfigSpec) -> str:
    """VIAS lists one project's services at a time."""
    return spec.project_id or ""


class ViasServices:
    """The observer's view of one project: every service under its algorithm id, and again
    (an alias, never polled itself) under its service id, for resources that observe by
    `serviceId`. A service is Shown by its id, which the last listing maps from the
    algorithm's."""

    def __init__(self, client: ViasClient) -> None:
        self.client = client
        self._service_of: dict[str, str] = {}  # algorithm id → service id
        self._services: set[str] = set()

    async def list_all(self) -> ListResult[Listed]:
        services, calls = await self.client.list_all_services()
        items: list[Listed] = []
        service_of: dict[str, str] = {}
        for service in services:
            if service.alg_id:
                items.append(Listed(service.alg_id, service))
                service_of[service.alg_id] = service.service_id
            if service.service_id:
                items.append(Listed(service.service_id, service, alias=True))
        self._service_of = service_of
        self._services = set(service_of.values())
        return ListResult(items, calls)

    async def describe(self, key: str) -> Listed | None:
        alias = key not in self._service_of
        service_id = key if alias else self._service_of[key]
        try:
            shown = await self.client.show_service(service_id)
        except NotFound:
            return None
        return Listed(key, summary_of(shown), alias=alias)

    def key_of(self, item: Listed) -> str:
        return item.key

    def owner_of(self, item: Listed) -> str | None:
        return None  # VIAS services carry no owner marker

    def fingerprint(self, item: Listed) -> object:
        return fingerprint(item)

    def transition(self, item: Listed) -> str | None:
        return transition(item)


def open_account(key: AccountKey, creds: Credentials, notify: Notify) -> Account:
    limiter = RateLimiter(key.qps, key.burst)
    client = ViasClient(key.region, key.scope, creds, endpoint=key.endpoint, limiter=limiter)
    observer: BatchObserver[Listed, Hashable] = BatchObserver(
        key.short,
        ViasServices(client),
        notify,
        key.intervals,
        list_rate=LIST_SHARE * key.qps,
    )
    observers: dict[str, BatchObserver[Any, Hashable]] = {KIND: observer}
    adapter = ViasAlgorithmServiceAdapter(client, observer)
    return Account(key, {KIND: adapter}, observers, client.aclose)


PROVIDER = Provider(
    cloud="huawei-vias",
    kinds=frozenset({KIND}),
    default_endpoint=default_endpoint,
    errors=TABLE,
    open=open_account,
    scope=scope,
)
