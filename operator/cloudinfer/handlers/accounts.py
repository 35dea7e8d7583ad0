"""Cloud accounts in use: one client, rate limiter and batch observer per (cloud, endpoint,
region, access key), shared by every resource whose provider config points there."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from cloudinfer.adapters.eas import EasInferenceServiceAdapter, fingerprint, is_transitional
from cloudinfer.api.providerconfig import ProviderConfigSpec
from cloudinfer.clouds.eas import EasClient, EasService
from cloudinfer.clouds.eas.client import default_endpoint
from cloudinfer.clouds.ratelimit import RateLimiter
from cloudinfer.credentials import Credentials
from cloudinfer.observer.batch import BatchObserver, Intervals, ListResult

Key = tuple[str, str]


def _secret_print(creds: Credentials) -> str:
    parts = [
        creds.access_key_id or "",
        *(
            s.get_secret_value() if s else ""
            for s in (creds.access_key_secret, creds.security_token, creds.iam_token)
        ),
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


@dataclass
class EasAccount:
    client: EasClient
    limiter: RateLimiter
    observer: BatchObserver[EasService, Key]
    adapter: EasInferenceServiceAdapter
    secret_print: str


class Accounts:
    def __init__(self, notify: Callable[[Key], None]) -> None:
        self._notify = notify
        self._eas: dict[tuple[str, str, str], EasAccount] = {}

    def eas(self, spec: ProviderConfigSpec, creds: Credentials) -> EasAccount:
        endpoint = spec.endpoint or default_endpoint(spec.region)
        key = (endpoint, spec.region, creds.access_key_id or "")
        intervals = Intervals(
            float(spec.poll_intervals.transitional_seconds),
            float(spec.poll_intervals.stable_seconds),
        )
        account = self._eas.get(key)
        if account is None:
            limiter = RateLimiter(spec.rate_limit.qps, spec.rate_limit.burst)
            client = EasClient(spec.region, creds, endpoint=endpoint, limiter=limiter)

            async def lister() -> ListResult[EasService]:
                services, calls = await client.list_all_services()
                return ListResult(services, calls)

            observer: BatchObserver[EasService, Key] = BatchObserver(
                f"alibaba-eas/{spec.region}",
                lister,
                lambda s: s.name,
                fingerprint,
                is_transitional,
                self._notify,
                intervals,
            )
            adapter = EasInferenceServiceAdapter(client, observer, spec.workspace_id)
            account = EasAccount(client, limiter, observer, adapter, _secret_print(creds))
            self._eas[key] = account
            observer.start()
        # Settings of the provider config may change under a live account.
        account.observer.intervals = intervals
        account.adapter.workspace_id = spec.workspace_id
        account.limiter.qps, account.limiter.burst = spec.rate_limit.qps, spec.rate_limit.burst
        printed = _secret_print(creds)
        if printed != account.secret_print:  # rotated Secret
            account.client.set_credentials(creds)
            account.secret_print = printed
        return account

    async def close(self) -> None:
        for account in self._eas.values():
            await account.observer.stop()
            await account.client.aclose()
        self._eas.clear()
