"""ModelArts (API v1) refusals, with the codes and messages of the official error table
(reference/huawei.md §7; api-ref appendix "Error Codes").

  400 ModelArts.0101  Invalid argument: every body or query validation (the table has no
                      finer code for weights, description, instance_count or names)
  400 ModelArts.3516  two config items deploy the same model
  400 ModelArts.3519  the service's state does not allow the update (the emulator refuses
                      config updates while deploying, stopping or deleting, and any update
                      while deleting; the official table contradicts itself on which states)
  400 ModelArts.3520  max services (only when a quota is set: admin PUT /quota)
  400 ModelArts.3521  max running services (quota)
  400 ModelArts.3522  max service instances (quota)
  403 ModelArts.0210  the URL's project is not the one the credentials name (X-Project-Id)
  404 ModelArts.3502  no such service in the caller's account and project (another account's
                      or project's service answers exactly the same)
  409 ModelArts.3503  the project already has a service of that name
  404 APIGW.0101      the Host names another Huawei service than ModelArts
  500 ModelArts.0010  an injected fault, or a bug in the emulator
"""

from __future__ import annotations

from cloudinfer.emulator.pipeline import ApiError

INTERNAL_ERROR = "ModelArts.0010"


class ModelArtsError(ApiError):
    pass


def invalid(detail: str) -> ModelArtsError:
    return ModelArtsError(400, "ModelArts.0101", f"Invalid argument. {detail}")


def not_found(service_id: str) -> ModelArtsError:
    return ModelArtsError(404, "ModelArts.3502", f"Service {service_id} does not exist.")


def already_exists(name: str) -> ModelArtsError:
    return ModelArtsError(409, "ModelArts.3503", f"Service {name} already exists.")


def duplicate_models() -> ModelArtsError:
    return ModelArtsError(
        400,
        "ModelArts.3516",
        "Failed to deploy services because the version of the model that is used for "
        "deploying services is the same.",
    )


def wrong_state(service_id: str, status: str, allowed: str) -> ModelArtsError:
    return ModelArtsError(
        400,
        "ModelArts.3519",
        f"Service {service_id} is {status}: only services in one of states in [{allowed}] "
        "can be updated.",
    )


def quota(code: str, limit: int, what: str) -> ModelArtsError:
    return ModelArtsError(400, code, f"A maximum of {limit} real-time {what} are allowed.")


def project_mismatch() -> ModelArtsError:
    return ModelArtsError(
        403, "ModelArts.0210", "The project id in the request URL does not match the token."
    )


def wrong_host() -> ApiError:
    return ApiError(
        404,
        "APIGW.0101",
        "The API does not exist or has not been published in the environment",
    )
