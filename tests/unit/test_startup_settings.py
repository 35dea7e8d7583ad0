"""kopf settings: the diff base kopf keeps for change detection is built only for the kinds
that have create/update handlers (the provider configs), never for the managed kinds; and an
object's event worker does not linger once its events stop."""

from __future__ import annotations

import json
from typing import Any

import kopf

from cloudinfer.api.kinds import GROUP, MANAGED_KINDS, VERSION
from cloudinfer.handlers.options import RunOptions
from cloudinfer.handlers.startup import DiffBaseOfConfigsOnly, apply_settings

KEY = "cloudinfer.io/last-handled-configuration"


def body(kind: str, group: str = GROUP) -> kopf.Body:
    raw: dict[str, Any] = {
        "apiVersion": f"{group}/{VERSION}",
        "kind": kind,
        "metadata": {
            "name": "x",
            "namespace": "ns",
            "annotations": {KEY: json.dumps({"spec": {"old": True}})},
        },
        "spec": {"new": True},
        "status": {"phase": "Running"},
    }
    return kopf.Body(raw)


def test_managed_kinds_get_no_diff_base() -> None:
    storage = DiffBaseOfConfigsOnly(prefix="cloudinfer.io", key="last-handled-configuration")
    for kind in MANAGED_KINDS:
        managed = body(kind.info.kind)
        assert storage.build(body=managed) is None, kind.info.kind
        assert storage.fetch(body=managed) is None, kind.info.kind


def test_provider_configs_and_other_groups_keep_theirs() -> None:
    storage = DiffBaseOfConfigsOnly(prefix="cloudinfer.io", key="last-handled-configuration")
    for config in (body("ProviderConfig"), body("InferenceService", group="example.com")):
        assert storage.fetch(body=config) == {"spec": {"old": True}}
        essence = storage.build(body=config)
        assert essence is not None and essence["spec"] == {"new": True}


def test_the_operator_uses_it_and_lets_idle_object_workers_go_soon() -> None:
    settings = kopf.OperatorSettings()
    default_idle = settings.queueing.idle_timeout
    apply_settings(settings, RunOptions())
    assert isinstance(settings.persistence.diffbase_storage, DiffBaseOfConfigsOnly)
    # A worker per object lingers this long after its last event (kopf's default: 5 s).
    assert settings.queueing.idle_timeout < default_idle
    assert settings.queueing.idle_timeout <= 0.5


def test_no_managed_kind_has_create_or_update_handlers() -> None:
    """What DiffBaseOfConfigsOnly relies on: should a managed kind ever get a kopf
    create/update handler, it would need its diff base again."""
    from kopf._cogs.structs.references import Resource

    import cloudinfer.handlers  # noqa: F401  (registers the handlers)

    registry = kopf.get_default_registry()
    for kind in MANAGED_KINDS:
        resource = Resource(GROUP, VERSION, kind.info.plural)
        assert not registry._changing.has_handlers(resource=resource), kind.info.kind
    config = Resource(GROUP, VERSION, "providerconfigs")
    assert registry._changing.has_handlers(resource=config)  # the check can fail
