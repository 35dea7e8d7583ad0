"""Values a spec takes from Secrets (env `valueFrom.secretKeyRef`), read from the watch-fed
Secret index when the resource is reconciled: no GET. Pure: the lookup is handed in.

The values are secret material. They go into `ManagedResource.secret_values` for the adapter
and nowhere else; every message here names the reference's path, the Secret and the key,
never a value."""

from __future__ import annotations

from cloudinfer.api.common import ManagedSpec
from cloudinfer.runtime.cache import MAX_REFERENCED_BYTES
from cloudinfer.runtime.resolve import Blocked, SecretLookup

SecretName = tuple[str, str]  # (namespace, name)


def referenced_secrets(spec: ManagedSpec, namespace: str) -> frozenset[SecretName]:
    """The Secrets whose change matters to this spec."""
    return frozenset((namespace, ref.name) for _, ref in spec.secret_key_refs())


def secret_values(
    spec: ManagedSpec, namespace: str, secrets: SecretLookup, lenient: bool = False
) -> dict[str, str] | Blocked:
    """The value of every Secret key the spec references, by the path of the reference; or
    why not (the first reference that cannot be read). `lenient` (a resource being deleted:
    nothing is sent, and its Secrets may be gone first) skips what cannot be read."""
    values: dict[str, str] = {}
    for path, ref in spec.secret_key_refs():
        where = f'Secret "{namespace}/{ref.name}"'
        facts = secrets(namespace, ref.name)
        if facts is not None and ref.key in facts.values:
            values[path] = facts.values[ref.key]
            continue
        if lenient:
            continue
        if facts is None:
            return Blocked("SecretNotFound", f"{where} ({path}) not found")
        if ref.key not in facts.keys:
            return Blocked("SecretKeyMissing", f'{where} has no key "{ref.key}" ({path})')
        return Blocked(
            "SecretKeyUnusable",
            f'{where} key "{ref.key}" ({path}) cannot be used: only UTF-8 text of Secrets of '
            f"at most {MAX_REFERENCED_BYTES // 1024} KiB that are not service-account tokens "
            "or Helm releases can be referenced",
        )
    return values
