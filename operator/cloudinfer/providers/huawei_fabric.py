"""Huawei DataArts Fabric: ServiceInstance, server-named by instance id."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from cloudinfer.adapters.fabric import (
    FabricServiceInstanceAdapter,
    fingerprint,
    owner_of,
    transition,
)
from cloudinfer.api.providerconfig import ProviderConfigSpec
from cloudinfer.clouds.errors import NotFound
from cloudinfer.clouds.huawei.fabric import FabricClient, ServiceInstance
from cloudinfer.clouds.huawei.fabric.client import TABLE, default_endpoint
from cloudinfer.clouds.ratelimit import RateLimiter
from cloudinfer.credentials import Credentials
from cloudinfer.observer.batch import BatchObserver, ListResult
from cloudinfer.providers.base import Account, AccountKey, Notify, Provider

KIND = "ServiceInstance"
LIST_SHARE = 0.1  # of the account's rate limit, for the listings that follow a burst


def scope(spec: ProviderConfigSpec) -> str:
    """Fabric lists one workspace's instances at a time (the project only signs)."""
    return f"{spec.project_id or ''}/{spec.workspace_id or ''}"


class FabricInstances:
    """The observer's view of one workspace: paged listing, Show by id. Without a workspace
    on the provider config nothing is listed, and the adapter asks each instance itself."""

    def __init__(self, client: FabricClient, workspace: str) -> None:
        self.client, self.workspace = client, workspace

    async def list_all(self) -> ListResult[ServiceInstance]:
        if not self.workspace:
            return ListResult([], 0)
        instances, calls = await self.client.list_all_instances(self.workspace)
        return ListResult(instances, calls)

    async def describe(self, key: str) -> ServiceInstance | None:
        if not self.workspace:
            return None
        try:
            return await self.client.show_instance(self.workspace, key)
        except NotFound:
            return None

    def key_of(self, item: ServiceInstance) -> str:
        return item.id

    def owner_of(self, item: ServiceInstance) -> str | None:
        return owner_of(item.description)[0]

    def fingerprint(self, item: ServiceInstance) -> object:
        return fingerprint(item)

    def transition(self, item: ServiceInstance) -> str | None:
        return transition(item)


def open_account(key: AccountKey, creds: Credentials, notify: Notify) -> Account:
    project, _, workspace = key.scope.partition("/")
    limiter = RateLimiter(key.qps, key.burst)
    # The default endpoint names the instances' host; the client knows the endpoints' host
    # too. Only an endpoint set on the provider config (the emulator) serves both.
    given = None if key.endpoint == default_endpoint(key.region) else key.endpoint
    client = FabricClient(key.region, project, creds, endpoint=given, limiter=limiter)
    observer: BatchObserver[ServiceInstance, Hashable] = BatchObserver(
        key.short,
        FabricInstances(client, workspace),
        notify,
        key.intervals,
        list_rate=LIST_SHARE * key.qps,
    )
    observers: dict[str, BatchObserver[Any, Hashable]] = {KIND: observer}
    adapter = FabricServiceInstanceAdapter(client, observer, workspace)
    return Account(key, {KIND: adapter}, observers, client.aclose)


PROVIDER = Provider(
    cloud="huawei-fabric",
    kinds=frozenset({KIND}),
    default_endpoint=default_endpoint,
    errors=TABLE,
    open=open_account,
    scope=scope,
)
