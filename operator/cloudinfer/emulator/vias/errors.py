"""VIAS refusals, with the codes of the official error page (reference/huawei.md §6,
vias_03_0280). The body is `{error_code, error_msg, detail, params, reason, advice}` with the
request id in an `X-Request-Id` header. Every refusal of a request as such is a 400,
not-found included:

  400 VIAS.00010001  a parameter is invalid: every body, path or query validation, and a
                     first deployment without `pool_id`; the parameter is named in
                     `error_msg` and `params`
  400 VIAS.00010002  "The object does not exist.": no such algorithm or service in the
                     caller's account and project (another account's or project's answers
                     exactly the same), or stopping an algorithm that was never deployed
  400 VIAS.00010003  "The object already exists.": a deployment (deploy, upgrade or stop) is
                     already in progress
  400 VIAS.00010004  the object is invalid for the operation: deploying a service that is
                     service_finished
  401 VIAS.00010005  authorization failed: the URL's project is not the one the credentials
                     name (`X-Project-Id`) [a guess: ModelArts answers 403 ModelArts.0210]
  500 VIAS.00010006  an injected fault, or a bug in the emulator
  404 APIGW.0101     the Host names another Huawei or Alibaba product (the gateway's shape)

The texts of `detail`, `reason` and `advice` are the emulator's own: the page documents the
codes and their meanings, not the texts."""

from __future__ import annotations

from cloudinfer.emulator.pipeline import ApiError

INVALID = "VIAS.00010001"
NOT_FOUND = "VIAS.00010002"
ALREADY_EXISTS = "VIAS.00010003"
INVALID_OBJECT = "VIAS.00010004"
UNAUTHORIZED = "VIAS.00010005"
INTERNAL_ERROR = "VIAS.00010006"

NOT_FOUND_MESSAGE = "The object does not exist."
ALREADY_EXISTS_MESSAGE = "The object already exists."


class ViasError(ApiError):
    """A VIAS refusal: `detail`, `params`, `reason` and `advice` fill the body's fields of
    those names."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        detail: str = "",
        params: tuple[str, ...] = (),
        reason: str = "",
        advice: str = "",
    ) -> None:
        super().__init__(status, code, message)
        self.detail, self.params, self.reason, self.advice = detail, params, reason, advice


def invalid(parameter: str, why: str) -> ViasError:
    """VIAS.00010001 naming `parameter`."""
    return ViasError(
        400,
        INVALID,
        f"The parameter {parameter} is invalid: {why}",
        detail=why,
        params=(parameter,),
        reason="The parameters are invalid.",
        advice=f"Correct {parameter} and try again.",
    )


def bad_json() -> ViasError:
    return invalid("body", "the request body is not valid JSON.")


def not_found(kind: str, object_id: str, project: str) -> ViasError:
    return ViasError(
        400,
        NOT_FOUND,
        NOT_FOUND_MESSAGE,
        detail=f"The {kind} {object_id} does not exist in project {project}.",
        params=(object_id,),
        reason=NOT_FOUND_MESSAGE,
        advice=f"Check the {kind} ID and the project.",
    )


def not_deployed(alg_id: str) -> ViasError:
    return ViasError(
        400,
        NOT_FOUND,
        NOT_FOUND_MESSAGE,
        detail=f"The algorithm {alg_id} has no deployed service to stop.",
        params=(alg_id,),
        reason=NOT_FOUND_MESSAGE,
        advice="Deploy the algorithm first.",
    )


def in_progress(alg_id: str, status: str) -> ViasError:
    return ViasError(
        400,
        ALREADY_EXISTS,
        ALREADY_EXISTS_MESSAGE,
        detail=f"The service of algorithm {alg_id} is {status}: an operation is in progress.",
        params=(alg_id,),
        reason=ALREADY_EXISTS_MESSAGE,
        advice="Wait until the current operation finishes, then try again.",
    )


def invalid_object(alg_id: str, detail: str, advice: str) -> ViasError:
    return ViasError(
        400,
        INVALID_OBJECT,
        "The object or parameter is invalid.",
        detail=detail,
        params=(alg_id,),
        reason="The object cannot be used for this operation.",
        advice=advice,
    )


def project_mismatch(path_project: str) -> ViasError:
    return ViasError(
        401,
        UNAUTHORIZED,
        "Authorization failed.",
        detail=f"The project {path_project} in the URL is not the project of the credentials.",
        params=(path_project,),
        reason="The project ID does not match the credentials.",
        advice="Use the project ID the credentials or token are scoped to.",
    )


def wrong_host() -> ApiError:
    return ApiError(
        404,
        "APIGW.0101",
        "The API does not exist or has not been published in the environment",
    )
