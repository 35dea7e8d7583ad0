"""Classification by code, not by HTTP class: terminal only for the codes a table lists."""

from __future__ import annotations

import pytest

from cloudinfer.clouds import errors
from cloudinfer.clouds.alibaba.eas.client import TABLE


@pytest.mark.parametrize(
    ("status", "code", "expected", "terminal"),
    [
        (400, "InvalidParameter", errors.Invalid, True),
        (400, "QuotaExceeded.Instance-Count", errors.Invalid, True),
        (400, "InvalidServiceStatus", errors.Busy, False),  # wrong state now: retry
        (403, "Forbidden.PrivilegeCheckFailed", errors.Forbidden, False),  # an admin fixes it
        (403, "", errors.Forbidden, False),
        (400, "SomethingNobodyListed", errors.Unrecognised, False),  # never a guessed verdict
        (404, "", errors.ServerError, False),  # a proxy's HTML 404 is not "gone"
        (404, "InvalidService.NotFound", errors.NotFound, False),
        (401, "SignatureDoesNotMatch", errors.AuthFailed, True),
        (503, "", errors.ServerError, False),
    ],
)
def test_classification(
    status: int, code: str, expected: type[errors.CloudError], terminal: bool
) -> None:
    error = TABLE.classify(status, code, "message", None)
    assert type(error) is expected
    assert error.terminal is terminal
