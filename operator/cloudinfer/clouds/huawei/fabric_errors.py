"""DataArts Fabric error codes by meaning (reference/huawei.md §5.3, seed 001).

Fabric answers most refusals with a handful of generic codes, so the HTTP status carries the
meaning that the code does not:

  400 common.01000001   bad request (type mismatch, out of range, ...)   → Invalid (terminal)
  404 common.01000001   "response status exception, code: 404": the
                        instance (or what the path names) does not exist → NotFound
  400 common.01000030   the deploy, or a `max` increase, would exceed the
                        endpoint's capacity (`reserved_resource.mu.max`) → EndpointCapacity-
                        Exceeded (an Invalid and a Waiting; our documented code: no
                        official one exists, see below)
  408 common.00000408   "timeout exception occurred"                     → ServerError (transient;
                        a deploy may still have been made)
  500 common.00000500   "internal error"                                 → ServerError
  401 APIG.1002         incorrect token or token resolution failed       → AuthFailed
  401 APIGW.0301 / APIG.0301 / APIG.0307 ... the gateway's AK/SK and token
                        refusals (any other code on a 401 too)           → AuthFailed
  403 `{"error": {"code": "403", ...}, "error_code": 403, ...}`: the gateway's nested shape
                        with a numeric code                              → Forbidden
  429 (any code; `APIGW.0308`)                                           → Throttled

The same code at another status than listed falls back on the status, as any code the table
does not know does (errors.ErrorTable.classify): 5xx is transient, a 4xx an `Unrecognised`
refusal that is retried with backoff, never taken as final.

Capacity. No capacity code is documented (reference §5.2: "[U] the error_code and HTTP status
of a violation"); the emulator, and so this table, uses HTTP 400 `common.01000030`. The
refusal has its own class, `EndpointCapacityExceeded`: an `Invalid` (the request cannot
succeed as it stands) that is also a `Waiting` whose `reason` is `EndpointCapacityExceeded`:
the reconciler checks `Waiting` first, so the resource shows Ready=False with that reason and
is checked again at a capped interval (the room comes back when other instances shrink or
go), rather than failing for good under the code's own name (`Common01000030`)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from cloudinfer.clouds.errors import (
    CloudError,
    ErrorTable,
    Invalid,
    NotFound,
    ServerError,
    Throttled,
    Waiting,
)
from cloudinfer.clouds.huawei.errors import GATEWAY_AUTH, GATEWAY_THROTTLED, parse_error
from cloudinfer.clouds.transport import CloudRequest

BAD_REQUEST = "common.01000001"  # 400: invalid request; 404: not found
CAPACITY_EXCEEDED = "common.01000030"  # ours: the endpoint's capacity would be exceeded
TIMEOUT = "common.00000408"
INTERNAL_ERROR = "common.00000500"
# The gateway's token refusals besides the vendor-wide ones (errors.GATEWAY_AUTH).
TOKEN_EXPIRED = ("APIG.0307", "APIGW.0307")  # 401 "The token must be updated."

CAPACITY_REASON = "EndpointCapacityExceeded"


class EndpointCapacityExceeded(Waiting, Invalid):
    """The endpoint cannot take this instance (or this larger `max`): with it, the `max` of
    the endpoint's instances would exceed its `reserved_resource.mu.max`.

    An `Invalid`: the request cannot succeed as it stands, and it is not retried inline (nor
    is any deploy). A `Waiting` too, named by `reason`: what it needs is held by other
    instances, so the reconciler (which looks for `Waiting` before `terminal`) shows
    `EndpointCapacityExceeded` and checks again at a capped interval instead of giving up
    until the spec changes. The cloud's code stays in `code` (`common.01000030`)."""

    reason = CAPACITY_REASON


@dataclass(frozen=True)
class FabricErrorTable(ErrorTable):
    """An ErrorTable that can also say what a code means at one HTTP status only (Fabric's
    generic `common.*` codes), with an error class of its own if need be. These rules come
    before the code lists and the status fallback; throttling still wins over them."""

    # (status, code, class): `code` answered with `status` means `class`.
    by_status: tuple[tuple[int, str, type[CloudError]], ...] = ()

    def rule(self, status: int, code: str) -> type[CloudError] | None:
        return next(
            (cls for s, c, cls in self.by_status if status == s and code == c),
            None,
        )

    def classify(
        self, status: int, code: str, message: str, retry_after: float | None, request_id: str = ""
    ) -> CloudError:
        error = super().classify(status, code, message, retry_after, request_id)
        if isinstance(error, Throttled):
            return error
        cls = self.rule(status, code)
        if cls is None:
            return error
        return cls(message, status=status, code=code, request_id=request_id)


TABLE = FabricErrorTable(
    throttled=GATEWAY_THROTTLED,
    auth=GATEWAY_AUTH + TOKEN_EXPIRED,
    by_status=(
        (400, BAD_REQUEST, Invalid),
        (404, BAD_REQUEST, NotFound),
        (400, CAPACITY_EXCEEDED, EndpointCapacityExceeded),
        (408, TIMEOUT, ServerError),
        (500, INTERNAL_ERROR, ServerError),
    ),
)


def capacity_exceeded(error: BaseException) -> bool:
    """Whether `error` is Fabric's refusal for lack of endpoint capacity."""
    return isinstance(error, EndpointCapacityExceeded)


def classify(request: CloudRequest, response: httpx.Response) -> CloudError:
    """A DataArts Fabric error answer → the typed error the reconciler acts on (the
    transport's ErrorParser)."""
    return parse_error(TABLE, response)
