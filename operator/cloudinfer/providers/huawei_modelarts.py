"""Huawei Cloud ModelArts: InferenceService (`spec.modelarts`), server-named by service id."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from cloudinfer.adapters.base import OWNER_LABEL
from cloudinfer.adapters.modelarts import (
    DEFAULT_WORKSPACE,
    ModelArtsInferenceServiceAdapter,
    fingerprint,
    transition,
)
from cloudinfer.api.providerconfig import ProviderConfigSpec
from cloudinfer.clouds.errors import NotFound
from cloudinfer.clouds.huawei.modelarts import ModelArtsClient, ModelArtsService
from cloudinfer.clouds.huawei.modelarts.client import TABLE, default_endpoint
from cloudinfer.clouds.ratelimit import RateLimiter
from cloudinfer.credentials import Credentials
from cloudinfer.observer.batch import BatchObserver, ListResult
from cloudinfer.providers.base import Account, AccountKey, Notify, Provider

KIND = "InferenceService"
LIST_SHARE = 0.1  # of the account's rate limit, for the listings that follow a burst


def scope(spec: ProviderConfigSpec) -> str:
    """ModelArts lists one project's services in one workspace at a time."""
    return f"{spec.project_id or ''}/{spec.workspace_id or DEFAULT_WORKSPACE}"


class ModelArtsServices:
    """The observer's view of one project and workspace: paged listing, Show by id."""

    def __init__(self, client: ModelArtsClient, workspace: str) -> None:
        self.client, self.workspace = client, workspace

    async def list_all(self) -> ListResult[ModelArtsService]:
        services, calls = await self.client.list_all_services(workspace_id=self.workspace)
        return ListResult(services, calls)

    async def describe(self, key: str) -> ModelArtsService | None:
        try:
            return await self.client.show_service(key)
        except NotFound:
            return None

    def key_of(self, item: ModelArtsService) -> str:
        return item.service_id

    def owner_of(self, item: ModelArtsService) -> str | None:
        return item.additional_properties.get(OWNER_LABEL)

    def fingerprint(self, item: ModelArtsService) -> object:
        return fingerprint(item)

    def transition(self, item: ModelArtsService) -> str | None:
        return transition(item)


def open_account(key: AccountKey, creds: Credentials, notify: Notify) -> Account:
    project, _, workspace = key.scope.partition("/")
    limiter = RateLimiter(key.qps, key.burst)
    client = ModelArtsClient(key.region, project, creds, endpoint=key.endpoint, limiter=limiter)
    observer: BatchObserver[ModelArtsService, Hashable] = BatchObserver(
        key.short,
        ModelArtsServices(client, workspace),
        notify,
        key.intervals,
        list_rate=LIST_SHARE * key.qps,
    )
    observers: dict[str, BatchObserver[Any, Hashable]] = {KIND: observer}
    adapter = ModelArtsInferenceServiceAdapter(client, observer, workspace)
    return Account(key, {KIND: adapter}, observers, client.aclose)


PROVIDER = Provider(
    cloud="huawei-modelarts",
    kinds=frozenset({KIND}),
    default_endpoint=default_endpoint,
    errors=TABLE,
    open=open_account,
    scope=scope,
)
