"""From a resource to the account it acts through: its provider config (or cluster provider
config), that config's credentials Secret, and the provider of the cloud its spec selects.
Pure: the lookups are handed in (the runtime's caches), and every refusal names what to fix."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from cloudinfer.api.common import ManagedSpec
from cloudinfer.api.kinds import CLUSTER_PROVIDER_CONFIG, PROVIDER_CONFIG, ManagedKind
from cloudinfer.api.providerconfig import ClusterProviderConfigSpec, ProviderConfigSpec
from cloudinfer.credentials import Credentials, CredentialsError, credentials_from_secret
from cloudinfer.providers import provider_for
from cloudinfer.providers.base import Provider
from cloudinfer.runtime.cache import SecretFacts

ConfigRef = tuple[str, str, str]  # (Kind, namespace or "", name) of a provider config
ConfigLookup = Callable[[ConfigRef], Mapping[str, Any] | None]  # → the spec
SecretLookup = Callable[[str, str], SecretFacts | None]
LabelsLookup = Callable[[str], Mapping[str, str] | None]  # a namespace's labels


@dataclass(frozen=True)
class Blocked:
    """Nothing can reach the cloud until this is fixed."""

    reason: str
    message: str


@dataclass(frozen=True)
class Resolution:
    provider: Provider
    config: ProviderConfigSpec
    credentials: Credentials


def config_ref(spec: ManagedSpec, namespace: str) -> ConfigRef:
    ref = spec.provider_config_ref
    return _ref(ref.kind, ref.name, namespace)


def _ref(kind: str | None, name: str, namespace: str) -> ConfigRef:
    if kind == CLUSTER_PROVIDER_CONFIG.kind:
        return CLUSTER_PROVIDER_CONFIG.kind, "", name
    return PROVIDER_CONFIG.kind, namespace, name


def _read_config(ref: ConfigRef, raw: Mapping[str, Any]) -> ProviderConfigSpec:
    """A provider config's spec as its kind's model (ValidationError when it is not one)."""
    cluster = ref[0] == CLUSTER_PROVIDER_CONFIG.kind
    model = ClusterProviderConfigSpec if cluster else ProviderConfigSpec
    return model.model_validate(raw)


def place_of(spec: Mapping[str, Any], namespace: str, configs: ConfigLookup) -> str | None:
    """Where on the cloud a resource's names live (Provider.place of its provider config),
    from its raw spec; None when its provider config cannot be read."""
    given = spec.get("providerConfigRef") or {}
    name = given.get("name")
    if not isinstance(name, str) or not name:
        return None
    ref = _ref(given.get("kind"), name, namespace)
    raw = configs(ref)
    if raw is None:
        return None
    try:
        config = _read_config(ref, raw)
    except ValidationError:
        return None
    provider = provider_for(config.cloud)
    return provider.place(config) if provider is not None else None


def describe_ref(ref: ConfigRef) -> str:
    kind, namespace, name = ref
    return f'{kind} "{name}"' + (f' in namespace "{namespace}"' if namespace else "")


def resolve(
    kind: ManagedKind,
    spec: ManagedSpec,
    namespace: str,
    configs: ConfigLookup,
    secrets: SecretLookup,
    operator_namespace: str,
    namespace_labels: LabelsLookup = lambda _: {},
) -> Resolution | Blocked:
    ref = config_ref(spec, namespace)
    where = describe_ref(ref)
    raw = configs(ref)
    if raw is None:
        return Blocked("ProviderConfigNotFound", f"{where} (spec.providerConfigRef) not found")
    try:
        config = _read_config(ref, raw)
    except ValidationError as exc:
        return Blocked("ProviderConfigInvalid", f"{where} cannot be read: {exc.errors()[0]['msg']}")
    selector = getattr(config, "namespace_selector", None)
    if selector is not None and not selector.matches(namespace_labels(namespace) or {}):
        return Blocked(
            "ProviderConfigNotAllowed",
            f'{where} does not allow namespace "{namespace}": its spec.namespaceSelector '
            "does not select this namespace's labels",
        )
    selected = kind.block_of(spec)
    if selected is None:
        blocks = " or ".join(f"spec.{b}" for b in kind.clouds)
        return Blocked("InvalidSpec", f"{blocks} must be set")
    block, cloud = selected
    if config.cloud != cloud:
        what = f"spec.{block}" if block else f"a {kind.info.kind}"
        return Blocked(
            "ProviderConfigMismatch", f"{where} is for cloud {config.cloud}; {what} needs {cloud}"
        )
    provider = provider_for(cloud)
    if provider is None or kind.info.kind not in provider.kinds:
        return Blocked("CloudNotSupported", f"{kind.info.kind} on {cloud} is not supported yet")
    secret_ns = namespace if ref[1] else operator_namespace
    secret_name = config.credentials_secret_ref.name
    facts = secrets(secret_ns, secret_name)
    if facts is None:
        return Blocked(
            "CredentialsUnavailable", f'Secret "{secret_ns}/{secret_name}" of {where} not found'
        )
    try:
        creds = credentials_from_secret(cloud, f"{secret_ns}/{secret_name}", facts.credentials)
    except CredentialsError as exc:
        return Blocked("CredentialsUnavailable", exc.message)
    return Resolution(provider, config, creds)
