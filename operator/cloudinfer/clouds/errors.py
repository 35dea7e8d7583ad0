"""Typed cloud errors, and the table that turns a cloud's answer into one.

The reconciler decides on the class, never on strings:

NotFound, Conflict             expected outcomes the reconciler handles
Busy                           the resource is in a state that refuses this now: retry later
Waiting                        other resources hold what this needs (capacity): re-checked
                               at a steady interval, named by its `reason`
Throttled(retry_after)         wait at least retry_after before the next call to the account
Invalid                        terminal, only for the codes a table lists as validation or
                               quota: retried when the spec changes (or on request)
AuthFailed                     the credentials: retried when the Secret changes, and slowly
Forbidden                      a permission an admin grants, not the spec: retried slowly
ServerError, TransportError,   transient: back off with jitter and try again; a code no
Unrecognised                   table knows is never taken as a final verdict

Each cloud API declares an `ErrorTable` (its codes by meaning); the vendor's parser reads
the code out of the body and the table picks the class, so classification lives in one
place per API and the client code holds no code lists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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


class Busy(CloudError):
    """Refused because of the resource's current state (deploying, deleting...): the same
    request can succeed later, so it is retried with backoff, never terminal."""

    transient = True


class Throttled(CloudError):
    transient = True

    def __init__(
        self, message: str, *, retry_after: float = 1.0, local: bool = False, **kwargs: object
    ) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after
        # True when our own rate limiter refused to wait that long: nothing was sent.
        self.local = local


class Invalid(CloudError):
    """The request cannot succeed as it is: bad config, quota, capacity."""

    terminal = True


class Forbidden(CloudError):
    """Not allowed: a missing permission, or (EAS) a service name another account holds. An
    admin fixes a permission without touching the spec, so it is retried, slowly."""

    transient = True


class AuthFailed(CloudError):
    """The credentials were refused (unknown key, bad signature, expired token)."""

    terminal = True


class Waiting(CloudError):
    """Refused for now because of other resources, not this spec: an inference endpoint
    whose capacity other instances hold. Checked again at a steady, capped interval (it
    clears when they shrink or go); `reason` names the wait in conditions."""

    reason = "Waiting"


class ServerError(CloudError):
    transient = True


class Unrecognised(CloudError):
    """A refusal with a code the API's table does not list: not known to be final, so it is
    retried with backoff (a wrong guess of "terminal" would strand the resource)."""

    transient = True


class TransportError(CloudError):
    """No usable answer: connection refused, reset, timeout. `maybe_committed` says whether
    the server may have acted on the request before the answer was lost."""

    transient = True

    def __init__(self, message: str, *, maybe_committed: bool = True, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.maybe_committed = maybe_committed


def _matches(code: str, patterns: tuple[str, ...]) -> bool:
    """A pattern ending in `*` matches by prefix, any other exactly."""
    return any(code.startswith(p[:-1]) if p.endswith("*") else code == p for p in patterns)


@dataclass(frozen=True)
class ErrorTable:
    """One cloud API's error codes by meaning. Codes win over HTTP status; the status only
    decides for codes the table does not know."""

    not_found: tuple[str, ...] = ()
    conflict: tuple[str, ...] = ()
    busy: tuple[str, ...] = ()
    throttled: tuple[str, ...] = ()
    auth: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()
    invalid: tuple[str, ...] = ()

    def classify(
        self, status: int, code: str, message: str, retry_after: float | None, request_id: str = ""
    ) -> CloudError:
        kwargs: dict[str, Any] = {"status": status, "code": code, "request_id": request_id}
        if retry_after is not None or status == 429 or _matches(code, self.throttled):
            return Throttled(message, retry_after=max(1.0, retry_after or 1.0), **kwargs)
        for patterns, cls in (
            (self.not_found, NotFound),
            (self.conflict, Conflict),
            (self.busy, Busy),
            (self.auth, AuthFailed),
            (self.forbidden, Forbidden),
            (self.invalid, Invalid),
        ):
            if _matches(code, patterns):
                return cls(message, **kwargs)
        if status >= 500 or (not code and status not in (401, 403)):
            # No code: not the cloud's own verdict (a proxy's HTML page, a gateway): transient.
            return ServerError(message, **kwargs)
        if status == 401:
            return AuthFailed(message, **kwargs)
        if status == 403:
            return Forbidden(message, **kwargs)
        if status == 409:
            return Conflict(message, **kwargs)
        return Unrecognised(message, **kwargs)
