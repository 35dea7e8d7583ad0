"""The one request pipeline every emulated cloud API goes through:

    faults → signature check → handler → call log

A cloud module supplies what differs between clouds, and nothing else:
  * a `Dialect`: how an error and a success are written on the wire (EAS: `{RequestId, Code,
    Message, Recommend, HostId}`; Huawei: `{error_code, error_msg}` plus an `X-Request-Id`
    header), what a throttled request is answered with, and what the call log names as the
    target of a request;
  * a verifier: checks the request's signature with that cloud's algorithm and returns the
    caller (whose `account` scopes every handler) or raises `ApiError`;
  * handlers, which raise `ApiError` for refusals and return the payload otherwise.

Adding a cloud therefore adds files and never edits this one."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from aiohttp import web

from cloudinfer.emulator.calls import CallLog
from cloudinfer.emulator.faults import Faults

log = logging.getLogger(__name__)


class ApiError(Exception):
    """A refusal, answered in the cloud's error shape."""

    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class SignedRequest:
    """What a signature covers, as received. `headers` maps lower-cased names to every value."""

    method: str
    raw_path: str
    raw_query: str
    headers: Mapping[str, list[str]]
    body: bytes


@dataclass(frozen=True)
class Reply:
    """A handler's successful answer; handlers may also return the body alone (status 200)."""

    body: Any
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


class Caller(Protocol):
    @property
    def account(self) -> str: ...


C = TypeVar("C", bound=Caller)

Verifier = Callable[[SignedRequest], C]
Handler = Callable[[web.Request, C], Awaitable[Reply | dict[str, Any]]]
WebHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def new_request_id() -> str:
    return str(uuid.uuid4()).upper()


@dataclass(frozen=True)
class Dialect:
    """How one cloud writes its answers."""

    cloud: str  # the call log's name for the cloud, e.g. "alibaba-eas"
    error: Callable[[ApiError, str], web.Response]  # (refusal, request id) → response
    ok: Callable[[Reply, str], web.Response]  # (reply, request id) → response
    throttle: Callable[[int], ApiError]  # retry-after seconds → the cloud's 429
    target: Callable[[web.Request, bytes], str]  # (request, body) → what the call log names
    internal_error_code: str = "InternalError"
    request_id: Callable[[], str] = new_request_id


class Pipeline(Generic[C]):
    """Serves one cloud's operations: `route(operation, handler)` gives the aiohttp handler."""

    def __init__(
        self, dialect: Dialect, verify: Verifier[C], faults: Faults, calls: CallLog
    ) -> None:
        self.dialect, self.verify, self.faults, self.calls = dialect, verify, faults, calls

    def route(self, operation: str, handler: Handler[C]) -> WebHandler:
        async def serve(request: web.Request) -> web.StreamResponse:
            return await self._serve(operation, handler, request)

        return serve

    async def _serve(
        self, operation: str, handler: Handler[C], request: web.Request
    ) -> web.StreamResponse:
        dialect = self.dialect
        request_id = dialect.request_id()
        body = await request.read()  # aiohttp keeps it: handlers may read it again
        account, code, drop = "", "", False
        try:
            drop = await self._apply_faults(operation)
            caller = self.verify(_signed(request, body))
            account = caller.account
            reply = await handler(request, caller)
            response = dialect.ok(reply if isinstance(reply, Reply) else Reply(reply), request_id)
        except ApiError as exc:
            code, drop = exc.code, False  # only a committed request is dropped
            response = dialect.error(exc, request_id)
        except Exception:
            # A bug in a handler still answers in the cloud's shape, so SDKs behave as they
            # would on a real server error, and the traceback is in the emulator's log.
            log.exception("%s %s failed", dialect.cloud, operation)
            code, drop = dialect.internal_error_code, False
            response = dialect.error(ApiError(500, code, "internal error"), request_id)
        self.calls.record(
            dialect.cloud,
            operation,
            response.status,
            code,
            dialect.target(request, body),
            account,
        )
        if drop and request.transport is not None:
            request.transport.close()  # committed, but the caller never hears of it
        return response

    async def _apply_faults(self, operation: str) -> bool:
        """Wait or refuse as the firing rules say; True when the answer is to be dropped."""
        drop = False
        for rule in self.faults.fire(operation, self.dialect.cloud):
            if rule.kind in ("latency", "timeout"):
                await asyncio.sleep(rule.seconds)
            elif rule.kind == "throttle":
                raise self.dialect.throttle(max(1, round(rule.seconds or 1)))
            elif rule.kind == "error":
                raise ApiError(rule.status, rule.code, rule.message)
            elif rule.kind == "drop-response":
                drop = True
        return drop


def _signed(request: web.Request, body: bytes) -> SignedRequest:
    headers: dict[str, list[str]] = {}
    for name, value in request.headers.items():
        headers.setdefault(name.lower(), []).append(value)
    return SignedRequest(
        request.method,
        request.raw_path.split("?", 1)[0],
        request.query_string,
        headers,
        body,
    )
