"""ModelArts (API v1) error codes by meaning (reference/huawei.md §7, the official table).

  404 ModelArts.3502        service does not exist                  → NotFound
  409 ModelArts.3503        service already exists                  → Conflict
  400 ModelArts.3519        not updatable in the service's state    → Busy (retried; the
                            official table contradicts itself on which states)
  400 ModelArts.3515        model not ready for deployment          → Busy
  400 ModelArts.3520-3522   max services / running services /
                            service instances reached (quota)       → Invalid (terminal)
  400 ModelArts.0101        invalid argument                        → Invalid
  404 ModelArts.3507, 3001  model does not exist (in a create or
                            update body: the spec names it)         → Invalid
  401 ModelArts.0201-0204   token missing / expired / invalid /
                            unparseable                             → AuthFailed
  403 ModelArts.0205, 0206  (0206: invalid AK/SK)                   → AuthFailed
  403 ModelArts.0210        project id in the URL does not match    → Forbidden
  401 APIGW.0301            gateway signature/token failure         → AuthFailed (vendor-wide)
  500 ModelArts.3501/3504/3505 deploy/delete/update failed          → by status: ServerError

Codes not listed fall back on the HTTP status (errors.ErrorTable.classify)."""

from __future__ import annotations

import httpx

from cloudinfer.clouds.errors import CloudError
from cloudinfer.clouds.huawei.errors import huawei_table, parse_error
from cloudinfer.clouds.transport import CloudRequest

TABLE = huawei_table(
    not_found=("ModelArts.3502",),
    conflict=("ModelArts.3503",),
    busy=("ModelArts.3519", "ModelArts.3515"),
    auth=(
        "ModelArts.0201",
        "ModelArts.0202",
        "ModelArts.0203",
        "ModelArts.0204",
        "ModelArts.0205",
        "ModelArts.0206",
    ),
    forbidden=("ModelArts.0210",),
    invalid=(
        "ModelArts.0101",
        "ModelArts.3520",
        "ModelArts.3521",
        "ModelArts.3522",
        "ModelArts.3507",
        "ModelArts.3001",
    ),
)


def classify(request: CloudRequest, response: httpx.Response) -> CloudError:
    """A ModelArts error answer → the typed error the reconciler acts on (the transport's
    ErrorParser)."""
    return parse_error(TABLE, response)
