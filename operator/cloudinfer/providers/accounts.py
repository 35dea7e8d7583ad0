"""Open cloud accounts, shared by every resource whose provider config resolves to the same
AccountKey, and closed when the last of them stops using it (a rotated Secret gives a new
account; the old one goes when nothing uses it)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Hashable

from cloudinfer.api.providerconfig import ProviderConfigSpec
from cloudinfer.credentials import Credentials
from cloudinfer.providers.base import Account, AccountKey, Notify, Provider

log = logging.getLogger(__name__)


class AccountPool:
    def __init__(self, notify: Notify) -> None:
        self._notify = notify
        self._accounts: dict[AccountKey, Account] = {}
        self._users: dict[AccountKey, set[Hashable]] = {}
        self._used_by: dict[Hashable, AccountKey] = {}
        self._closing: set[asyncio.Task[None]] = set()

    def use(
        self, user: Hashable, provider: Provider, spec: ProviderConfigSpec, creds: Credentials
    ) -> Account:
        """The account for these settings, opened on first use, now used by `user` (and no
        longer whatever `user` used before)."""
        key = provider.account_key(spec, creds)
        account = self._accounts.get(key)
        if account is None:
            account = provider.open(key, creds, self._notify)
            account.start()
            self._accounts[key] = account
            log.info("opened cloud account %s", key.short)
        previous = self._used_by.get(user)
        if previous != key:
            if previous is not None:
                self._drop(user, previous)
            self._used_by[user] = key
            self._users.setdefault(key, set()).add(user)
        return account

    def release(self, user: Hashable) -> None:
        key = self._used_by.pop(user, None)
        if key is not None:
            self._drop(user, key)

    def _drop(self, user: Hashable, key: AccountKey) -> None:
        users = self._users.get(key)
        if users is None:
            return
        users.discard(user)
        if not users:
            del self._users[key]
            account = self._accounts.pop(key, None)
            if account is not None:
                log.info("closing cloud account %s: no resource uses it", key.short)
                task = asyncio.get_running_loop().create_task(account.close())
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        for account in list(self._accounts.values()):
            await account.close()
        self._accounts.clear()
        self._users.clear()
        self._used_by.clear()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
