"""What a cloud brings to the runtime: how its accounts are identified and opened, which
kinds it serves (an adapter and a batch observer per kind), and its error table."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cloudinfer.adapters.base import CallContext, ExternalClient
from cloudinfer.api.providerconfig import ProviderConfigSpec
from cloudinfer.clouds.errors import ErrorTable
from cloudinfer.credentials import Credentials
from cloudinfer.observer.batch import BatchObserver, Intervals

# Wake one resource (the runtime's key); the flag: news that ends a wait (True), or progress
# (False: the cloud item is still in transition). See BatchObserver.
Notify = Callable[[Hashable, bool], None]

# Fingerprints are keyed with a per-process secret: equal credentials give equal prints in
# this process, and a print seen in memory or a log cannot be tested against guesses.
_PRINT_KEY = secrets.token_bytes(32)


def credential_fingerprint(creds: Credentials) -> str:
    """Covers every piece of the credential material, not just the key id: two Secrets with
    the same key id and different secrets are different accounts."""
    parts = [
        creds.access_key_id or "",
        *(
            s.get_secret_value() if s is not None else ""
            for s in (creds.access_key_secret, creds.security_token, creds.iam_token)
        ),
    ]
    return hmac.new(_PRINT_KEY, "\0".join(parts).encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class AccountKey:
    """Everything that makes two provider configs share (or not share) a client, a rate
    limiter and a listing: same cloud account, same place, same settings."""

    cloud: str
    endpoint: str
    region: str
    scope: str  # project or workspace, where the cloud's listings are scoped by one
    credentials: str = field(repr=False)  # credential_fingerprint
    qps: float = 10.0
    burst: int = 20
    intervals: Intervals = field(default_factory=Intervals)

    @property
    def short(self) -> str:
        """For logs and task names: never the fingerprint in full."""
        scope = f"/{self.scope}" if self.scope else ""
        return f"{self.cloud}/{self.region}{scope}#{self.credentials[:8]}"


@dataclass
class Account:
    """An open cloud account: the clients, adapters and observers of each kind it serves."""

    key: AccountKey
    adapters: Mapping[str, ExternalClient]
    observers: Mapping[str, BatchObserver[Any, Hashable]]
    close_clients: Callable[[], Awaitable[None]]

    def start(self) -> None:
        for observer in self.observers.values():
            observer.start()

    async def close(self) -> None:
        for observer in self.observers.values():
            await observer.stop()
        await self.close_clients()


@dataclass(frozen=True)
class Provider:
    cloud: str
    kinds: frozenset[str]  # the Kind names it serves
    default_endpoint: Callable[[str], str]  # region → public endpoint
    errors: ErrorTable
    open: Callable[[AccountKey, Credentials, Notify], Account]
    # The part of a provider config that scopes the cloud's listings (project, workspace).
    scope: Callable[[ProviderConfigSpec], str] = lambda spec: ""

    def context(self, spec: ProviderConfigSpec, creds: Credentials) -> CallContext:
        return CallContext(
            spec.region,
            spec.workspace_id,
            spec.project_id,
            cross_namespace=spec.allow_cross_namespace_adoption,
            account=self.account_identity(spec, creds),
        )

    def place(self, spec: ProviderConfigSpec) -> str:
        """Where a provider config's cloud names live, whoever's keys reach it: cloud,
        endpoint, region and scope (project, workspace)."""
        endpoint = (spec.endpoint or self.default_endpoint(spec.region)).rstrip("/")
        return "\0".join((self.cloud, endpoint, spec.region, self.scope(spec)))

    def account_identity(self, spec: ProviderConfigSpec, creds: Credentials) -> str:
        """Which account (and place in it) a resource's cloud resource lives in, as a short
        digest recorded on the resource at create time: where it changes, acting would
        create a duplicate there and orphan the original. The principal is the Secret's
        `accountId` when given (so rotating to a new key id is no change), else the key id of
        long-term keys. Temporary (STS) keys get a new id at every refresh, and an IAM token
        names no account: without `accountId` those are identified by place only (cloud,
        endpoint, region, scope), never taken for a move when they rotate."""
        temporary = creds.security_token is not None or creds.iam_token is not None
        principal = creds.account_id or ("" if temporary else creds.access_key_id or "")
        text = "\0".join((self.place(spec), principal))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def account_key(self, spec: ProviderConfigSpec, creds: Credentials) -> AccountKey:
        polls = spec.poll_intervals
        return AccountKey(
            cloud=self.cloud,
            endpoint=(spec.endpoint or self.default_endpoint(spec.region)).rstrip("/"),
            region=spec.region,
            scope=self.scope(spec),
            credentials=credential_fingerprint(creds),
            qps=spec.rate_limit.qps,
            burst=spec.rate_limit.burst,
            intervals=Intervals(float(polls.transitional_seconds), float(polls.stable_seconds)),
        )
