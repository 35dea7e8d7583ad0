"""PAI-EAS refusals.

Error codes (HTTP status, Code). Codes the reference marks unconfirmed are the emulator's
choice, used consistently:
  404 InvalidService.NotFound        no such service in the caller's account (another
                                     account's service answers exactly the same)
  409 ServiceAlreadyExists           create/clone with a name the caller already uses
  403 Forbidden.PrivilegeCheckFailed create/clone with a name another account holds
  400 InvalidParameter               malformed request or config
  400 InvalidServiceStatus           operation not allowed in the current state (e.g. deleting)
  400 InvalidVersion                 UpdateServiceVersion to a version that does not exist
  429 Throttling.User                throttled (header x-acs-retry-after: seconds)
  500 InternalError                  an injected fault, or a bug in the emulator
"""

from __future__ import annotations

from cloudinfer.emulator.pipeline import ApiError


class EasApiError(ApiError):
    pass


def not_found(region: str, name: str) -> EasApiError:
    return EasApiError(404, "InvalidService.NotFound", f"service {name} not found in {region}")


def name_held_elsewhere(name: str) -> EasApiError:
    # Says no more than the real cloud: not who holds the name, nor anything about it.
    return EasApiError(
        403,
        "Forbidden.PrivilegeCheckFailed",
        f"the service name {name} is not available to this account",
    )


def already_exists(name: str) -> EasApiError:
    return EasApiError(409, "ServiceAlreadyExists", f"service {name} already exists")
