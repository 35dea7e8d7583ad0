"""Typed cloud errors. The reconciler decides on the class, never on strings:

NotFound, Conflict             expected outcomes the reconciler handles
Throttled(retry_after)         wait at least retry_after before the next call to the account
Invalid, Forbidden, AuthFailed terminal: retried only when the spec (or Secret) changes
ServerError, TransportError    transient: back off with jitter and try again
"""

from __future__ import annotations


class CloudError(Exception):
    terminal = False
    transient = False

    def __init__(
        self,
        message: str,
        *,
        cloud: str = "",
        operation: str = "",
        status: int = 0,
        code: str = "",
        request_id: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.cloud, self.operation, self.status = cloud, operation, status
        self.code, self.request_id = code, request_id

    def __str__(self) -> str:
        where = f"{self.operation}: " if self.operation else ""
        code = f"{self.code}: " if self.code else ""
        return f"{where}{code}{self.message}"


class NotFound(CloudError):
    pass


class Conflict(CloudError):
    pass


class Throttled(CloudError):
    transient = True

    def __init__(self, message: str, *, retry_after: float = 1.0, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class Invalid(CloudError):
    """The request cannot succeed as it is: bad config, quota, capacity, wrong state."""

    terminal = True


class Forbidden(CloudError):
    """Not allowed: for example a service name owned by another account."""

    terminal = True


class AuthFailed(CloudError):
    """The credentials were refused (unknown key, bad signature, expired token)."""

    terminal = True


class ServerError(CloudError):
    transient = True


class TransportError(CloudError):
    """No usable answer: connection refused, reset, timeout. `maybe_committed` says whether
    the server may have acted on the request before the answer was lost."""

    transient = True

    def __init__(self, message: str, *, maybe_committed: bool = True, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.maybe_committed = maybe_committed
