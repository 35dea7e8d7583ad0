"""ProviderConfig readiness: does the referenced Secret hold usable credentials?"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cloudinfer import conditions
from cloudinfer.credentials import (
    CredentialsError,
    credentials_from_secret,
    decode_secret_data,
    required_keys_text,
)


@dataclass(frozen=True)
class Verdict:
    ready: bool
    reason: str
    message: str


def evaluate(
    cloud: str, secret_namespace: str, secret_name: str, secret_data: Mapping[str, str] | None
) -> Verdict:
    """Judge the Secret (its base64 `.data`, or None if it does not exist)."""
    where = f"{secret_namespace}/{secret_name}"
    if secret_data is None:
        return Verdict(
            False,
            "SecretNotFound",
            f'Secret "{where}" (spec.credentialsSecretRef.name) not found; it must hold '
            f"{required_keys_text(cloud)}",
        )
    try:
        creds = credentials_from_secret(cloud, where, decode_secret_data(secret_data))
    except CredentialsError as exc:
        return Verdict(False, exc.reason, exc.message)
    kind = "an IAM token" if creds.kind == "iam-token" else "an access key pair"
    return Verdict(True, "CredentialsAvailable", f'Secret "{where}" holds {kind} for {cloud}')


def desired_conditions(verdict: Verdict, generation: int | None) -> list[dict[str, Any]]:
    return [
        conditions.make(
            conditions.READY, verdict.ready, verdict.reason, verdict.message, generation
        ),
        conditions.make(conditions.SYNCED, True, "ReconcileSuccess", "", generation),
    ]


def error_conditions(message: str, generation: int | None) -> list[dict[str, Any]]:
    """The reconcile itself failed (API error): Synced goes False, Ready is left as it was."""
    return [conditions.make(conditions.SYNCED, False, "ReconcileError", message, generation)]
