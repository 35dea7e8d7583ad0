"""Alibaba Cloud PAI-EAS: InferenceService (`spec.eas`), client-named by service name."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from datetime import UTC, datetime, timedelta
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
# How far before the newest UpdateTime already seen a changes-only listing starts again:
# UpdateTime has whole seconds, and a change stamped a moment earlier may become visible a
# moment later than one stamped after it.
CHANGES_OVERLAP = timedelta(seconds=3)
LIST_SHARE = 0.1  # of the account's rate limit, for the listings that follow a burst
THE_BEGINNING = datetime.min.replace(tzinfo=UTC)


def update_time(service: EasService) -> datetime | None:
    try:
        stamp = datetime.fromisoformat(service.update_time)
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def newest(services: Iterable[EasService], mark: datetime) -> datetime:
    return max((t for s in services if (t := update_time(s)) is not None), default=mark)


class EasServices:
    """The observer's view of one account's services: paged listing, Describe by name, and
    a listing of what changed (newest UpdateTime first, stopping at the last mark)."""

    def __init__(self, client: EasClient) -> None:
        self.client = client

    async def list_all(self) -> ListResult[EasService]:
        services, calls = await self.client.list_all_services()
        return ListResult(services, calls)

    async def newest_mark(self) -> object:
        page = await self.client.list_services(1, 1, sort="UpdateTime", order="desc")
        return newest(page.services, THE_BEGINNING)

    async def list_changed(self, mark: object) -> ListResult[EasService]:
        assert isinstance(mark, datetime)
        since = mark - CHANGES_OVERLAP if mark > THE_BEGINNING + CHANGES_OVERLAP else mark
        services: list[EasService] = []
        page = 1
        while True:
            result = await self.client.list_services(page, sort="UpdateTime", order="desc")
            services.extend(result.services)
            if not result.services or len(services) >= result.total_count:
                break
            oldest = update_time(result.services[-1])
            if oldest is not None and oldest < since:
                break
            page += 1
        # Never back: the newest service may have been deleted since the last mark.
        return ListResult(services, page, mark=max(mark, newest(services, mark)))

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
        key.short, EasServices(client), notify, key.intervals, list_rate=LIST_SHARE * key.qps
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
