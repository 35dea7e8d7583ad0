"""VIAS error codes by meaning (reference/huawei.md §6, §8 item 26; the API's error code page,
support.huaweicloud.com/intl/zh-cn/vias-api/vias_03_0280.html).

The body is `{error_code, error_msg, detail, params[], reason, advice}`; the shared parser
(errors.parse_error) reads `error_code` and `error_msg` and ignores the rest. The documented
statuses are 200, 400 and 500 only, so the code carries the meaning, not the status:

  400 VIAS.00010002   "The object does not exist."              → NotFound (not-found is a
                      400 here, never a 404: the status alone would read it as a refusal)
  400 VIAS.00010003   "The object already exists."              → Conflict
  400 VIAS.00010001   parameters invalid                        → Invalid (terminal)
  400 VIAS.00010004   object or parameter invalid               → Invalid (terminal)
  401 VIAS.00010005   authorization failed                      → AuthFailed
  500 VIAS.00010006   internal error                            → ServerError (transient)
  500 VIAS.00010009   service access failed                     → ServerError (transient)
  401 APIGW.0301 / APIG.0301 / APIG.0307 ... the gateway's AK/SK and token refusals (any
                      other code on a 401 too)                  → AuthFailed
  429 (any code; `APIGW.0308`)                                  → Throttled

The two server codes mean "try again" whatever status they come with, so they are listed
rather than left to the status fallback. Any other code falls back on the status, as
errors.ErrorTable.classify does: 5xx transient, a 4xx an `Unrecognised` refusal retried with
backoff, never taken as final."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from cloudinfer.clouds.errors import CloudError, ErrorTable, ServerError, Throttled
from cloudinfer.clouds.huawei.errors import GATEWAY_AUTH, GATEWAY_THROTTLED, parse_error
from cloudinfer.clouds.transport import CloudRequest

PARAMETER_INVALID = "VIAS.00010001"
NOT_FOUND = "VIAS.00010002"  # at HTTP 400
ALREADY_EXISTS = "VIAS.00010003"
OBJECT_INVALID = "VIAS.00010004"
AUTH_FAILED = "VIAS.00010005"
INTERNAL_ERROR = "VIAS.00010006"
ACCESS_FAILED = "VIAS.00010009"
# The gateway's token refusals besides the vendor-wide ones (errors.GATEWAY_AUTH).
TOKEN_EXPIRED = ("APIG.0307", "APIGW.0307")  # 401 "The token must be updated."


@dataclass(frozen=True)
class ViasErrorTable(ErrorTable):
    """An ErrorTable that also names codes meaning a transient server failure. Those come
    after the code lists (they share no code) and before the status fallback; throttling
    still wins over them."""

    server: tuple[str, ...] = ()

    def classify(
        self, status: int, code: str, message: str, retry_after: float | None, request_id: str = ""
    ) -> CloudError:
        error = super().classify(status, code, message, retry_after, request_id)
        if isinstance(error, Throttled) or code not in self.server:
            return error
        return ServerError(message, status=status, code=code, request_id=request_id)


TABLE = ViasErrorTable(
    not_found=(NOT_FOUND,),
    conflict=(ALREADY_EXISTS,),
    invalid=(PARAMETER_INVALID, OBJECT_INVALID),
    auth=GATEWAY_AUTH + TOKEN_EXPIRED + (AUTH_FAILED,),
    throttled=GATEWAY_THROTTLED,
    server=(INTERNAL_ERROR, ACCESS_FAILED),
)


def classify(request: CloudRequest, response: httpx.Response) -> CloudError:
    """A VIAS error answer → the typed error the reconciler acts on (the transport's
    ErrorParser)."""
    return parse_error(TABLE, response)
