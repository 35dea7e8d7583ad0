"""DataArts Fabric refusals: the body is `{error_code, error_msg}` plus `solution_msg` where
the emulator has advice (reference/huawei.md §5.3; seed 001's examples), with the request id
in an `X-Request-Id` header.

  400 common.01000001  every body, path or query validation (the documented 400 code), and
                       what the API cannot do: change `resource.min`, `source.id` or
                       `source.version_id` on update, update an instance while it is
                       PENDING, CREATING, UPDATING or DELETING, deploy on an endpoint that is
                       not an inference endpoint or not RUNNING
  400 common.01000030  OURS, not an official code (none is documented): the capacity rule.
                       The `max` of the endpoint's live instances plus the one requested
                       would exceed the endpoint's `reserved_resource.mu.max`
  404 common.01000001  "response status exception, code: 404": no such instance or endpoint
                       in the caller's account and workspace (another account's answers
                       exactly the same); the object is named in `solution_msg`
  404 APIGW.0101       the Host names another product than the path's (fabric-ep for
                       instances, fabric for endpoints)
  500 common.00000500  an injected fault, or a bug in the emulator ("internal error")
"""

from __future__ import annotations

from cloudinfer.emulator.pipeline import ApiError

INVALID = "common.01000001"
NOT_FOUND = "common.01000001"
CAPACITY = "common.01000030"  # the emulator's own code: no official one exists
INTERNAL_ERROR = "common.00000500"
NOT_FOUND_MESSAGE = "response status exception, code: 404"


class FabricError(ApiError):
    """A Fabric refusal; `solution` is written as `solution_msg` when set."""

    def __init__(self, status: int, code: str, message: str, solution: str = "") -> None:
        super().__init__(status, code, message)
        self.solution = solution


def invalid(detail: str, solution: str = "") -> FabricError:
    return FabricError(400, INVALID, detail, solution)


def bad_json() -> FabricError:
    return invalid(
        "failed to read http request, please check your input, code: 400, "
        "reason: the request body is not valid JSON."
    )


def instance_not_found(instance_id: str, workspace: str) -> FabricError:
    return FabricError(
        404,
        NOT_FOUND,
        NOT_FOUND_MESSAGE,
        f"Check that service instance {instance_id} exists in workspace {workspace}.",
    )


def endpoint_not_found(endpoint_id: str, workspace: str) -> FabricError:
    return FabricError(
        404,
        NOT_FOUND,
        NOT_FOUND_MESSAGE,
        f"Check that endpoint {endpoint_id} exists in workspace {workspace}.",
    )


def over_capacity(endpoint_id: str, in_use: int, requested: int, limit: int) -> FabricError:
    return FabricError(
        400,
        CAPACITY,
        f"The maximum resources of the inference services on endpoint {endpoint_id} would "
        f"exceed its maximum: {in_use} in use + {requested} requested > {limit}.",
        "Lower resource.max, delete service instances on the endpoint, or raise the "
        "endpoint's maximum resources.",
    )


def wrong_host() -> ApiError:
    return ApiError(
        404,
        "APIGW.0101",
        "The API does not exist or has not been published in the environment",
    )
