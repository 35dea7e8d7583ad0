"""One HTTP call path for every cloud: rate limit, sign, send, classify, retry when safe,
record metrics. The cloud-specific parts (signing, error parsing) are plugged in."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from cloudinfer.clouds.errors import CloudError, Throttled, TransportError
from cloudinfer.clouds.metrics import CLOUD_LATENCY, CLOUD_REQUESTS, CLOUD_RETRIES
from cloudinfer.clouds.ratelimit import RateLimiter, admitted
from cloudinfer.clouds.retry import RetryPolicy


@dataclass(frozen=True)
class CloudRequest:
    operation: str
    method: str
    path: str  # already percent-encoded, as it is sent and signed
    query: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None
    idempotent: bool = False

    def encoded_query(self) -> str:
        # Form encoding on the wire, as the vendor SDKs send it.
        return urlencode(dict(self.query))


Signer = Callable[[CloudRequest, str], dict[str, str]]  # (request, host) → headers to send
ErrorParser = Callable[[CloudRequest, httpx.Response], CloudError]


def host_of(base_url: str) -> str:
    parts = urlsplit(base_url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    if parts.port is None or parts.port == default:
        return parts.hostname or ""
    return f"{parts.hostname}:{parts.port}"


class Transport:
    def __init__(
        self,
        cloud: str,
        base_url: str,
        sign: Signer,
        parse_error: ErrorParser,
        limiter: RateLimiter,
        policy: RetryPolicy | None = None,
        timeout: float = 30.0,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.cloud = cloud
        self.base_url = base_url.rstrip("/")
        self.host = host_of(self.base_url)
        self._sign, self._parse_error = sign, parse_error
        self.limiter = limiter
        self.policy = policy or RetryPolicy()
        self._timeout = timeout
        self._http = http or httpx.AsyncClient(timeout=timeout, follow_redirects=False)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def call(self, request: CloudRequest) -> dict[str, Any]:
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._attempt(request)
            except CloudError as error:
                if isinstance(error, Throttled) and not error.local:
                    # Every later call to this account waits too, not just this retry.
                    self.limiter.pause_for(error.retry_after)
                if attempt >= self.policy.attempts or not self.policy.retryable(
                    error, request.idempotent
                ):
                    raise
                reason = type(error).__name__
                CLOUD_RETRIES.labels(self.cloud, request.operation, reason).inc()
                if not isinstance(error, Throttled):
                    await asyncio.sleep(self.policy.backoff(attempt))

    async def _attempt(self, request: CloudRequest) -> dict[str, Any]:
        with admitted():  # a slot of the account's gate while the call is in flight
            return await self._send(request)

    async def _send(self, request: CloudRequest) -> dict[str, Any]:
        try:
            await self.limiter.acquire()
        except Throttled as refused:
            refused.cloud, refused.operation = self.cloud, request.operation
            raise
        url = self.base_url + request.path
        query = request.encoded_query()
        if query:
            url += "?" + query
        headers = self._sign(request, self.host)
        started = time.monotonic()
        try:
            response = await self._http.request(
                request.method, url, headers=headers, content=request.body, timeout=self._timeout
            )
        except httpx.HTTPError as exc:
            CLOUD_REQUESTS.labels(self.cloud, request.operation, "transport").inc()
            # Only a failed connect proves the server never saw the request.
            committed = not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
            raise TransportError(
                f"{type(exc).__name__}: {exc}".rstrip(": "),
                cloud=self.cloud,
                operation=request.operation,
                maybe_committed=committed,
            ) from exc
        finally:
            CLOUD_LATENCY.labels(self.cloud, request.operation).observe(time.monotonic() - started)
        if response.status_code >= 400:
            error = self._parse_error(request, response)
            error.cloud, error.operation = self.cloud, request.operation
            CLOUD_REQUESTS.labels(
                self.cloud, request.operation, error.code or str(response.status_code)
            ).inc()
            raise error
        CLOUD_REQUESTS.labels(self.cloud, request.operation, "OK").inc()
        if not response.content:
            return {}
        try:
            data = response.json()
        except json.JSONDecodeError as exc:
            raise TransportError(
                f"unparseable answer (HTTP {response.status_code})",
                cloud=self.cloud,
                operation=request.operation,
            ) from exc
        return data if isinstance(data, dict) else {"items": data}
