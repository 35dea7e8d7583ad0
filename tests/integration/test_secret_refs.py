"""Container env taken from a Secret (`valueFrom.secretKeyRef`): the API server refuses a
malformed entry naming it; the operator waits for a missing Secret without calling the cloud,
is woken when it appears, sends a rotated value to the cloud, never shows a value, and
deletes without the Secret."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.conftest import Cluster, Emulator
from tests.integration.test_inferenceservice import PLURAL, apply_isvc, events, ext, unique
from tests.support import wait_for

REF = "spec.eas.containers[0].env[1].valueFrom.secretKeyRef"


def container(secret: str, key: str = "api") -> dict[str, Any]:
    return {
        "image": "registry.cn-shanghai.aliyuncs.com/eas/echo:v1",
        "port": 8000,
        "env": [
            {"name": "MODE", "value": "fast"},
            {"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}},
        ],
    }


def eas(secret: str, key: str = "api") -> dict[str, Any]:
    return {"containers": [container(secret, key)], "instances": 1, "cpu": 1, "memory": 1000}


def put_secret(cluster: Cluster, namespace: str, name: str, **values: str) -> None:
    cluster.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace},
            "stringData": values,
        }
    )


def cloud_env(emulator: Emulator, service: str) -> list[dict[str, str]] | None:
    found = emulator.service(service)
    if found is None:
        return None
    env: list[dict[str, str]] = json.loads(found["ServiceConfig"])["containers"][0]["env"]
    return env


def everything_visible(cluster: Cluster, namespace: str, name: str) -> str:
    """The resource (spec holds only the reference) and every Event of the namespace."""
    obj = cluster.get(PLURAL, name, namespace)
    evs = [e.to_dict() for e in cluster.core.list_namespaced_event(namespace).items]
    return json.dumps(obj) + json.dumps(evs, default=str)


def test_env_from_a_secret_waits_for_it_follows_its_rotation_and_never_shows_it(
    cluster: Cluster, emulator: Emulator, namespace: str, eas_provider: str
) -> None:
    name, keys = unique("envref"), unique("keys")
    old, new = f"old-{unique('v')}", f"new-{unique('v')}"
    apply_isvc(cluster, namespace, name, eas=eas(keys))
    # No Secret yet: stopped before any cloud call, naming the reference and the Secret.
    cond = cluster.wait_condition(PLURAL, name, namespace, "False", "SecretNotFound")
    assert REF in cond["message"] and f'Secret "{namespace}/{keys}"' in cond["message"]
    synced = cluster.condition(PLURAL, name, namespace, "Synced")
    assert synced is not None and synced["reason"] == "SecretNotFound"
    wait_for(
        lambda: ("Warning", "SecretNotFound") in events(cluster, namespace, name),
        10,
        "the SecretNotFound Event",
    )
    assert not emulator.calls(target=ext(name)) and emulator.service(ext(name)) is None

    # The Secret appears: the resource is woken (nothing else would: resync is an hour).
    put_secret(cluster, namespace, keys, api=old)
    cluster.wait_condition(PLURAL, name, namespace, "True", "Available")
    assert cloud_env(emulator, ext(name)) == [
        {"name": "MODE", "value": "fast"},
        {"name": "API_KEY", "value": old},
    ]

    # Rotated: the new value reaches the cloud (drift on the env → UpdateService).
    put_secret(cluster, namespace, keys, api=new)
    wait_for(
        lambda: (cloud_env(emulator, ext(name)) or [{}])[-1].get("value") == new,
        30,
        "the rotated value on the cloud",
    )

    def updating() -> list[str]:
        items = cluster.core.list_namespaced_event(
            namespace, field_selector=f"involvedObject.name={name}"
        ).items
        return [e.message for e in items if e.reason == "UpdatingExternal"]

    messages = wait_for(updating, 10, "the UpdatingExternal Event")
    assert all(m.endswith(": containers") for m in messages), messages  # the path only
    cluster.wait_condition(PLURAL, name, namespace, "True", "Available")

    # The key goes: stopped again, naming the key; the cloud keeps what it runs.
    cluster.kubectl("delete", "secret", keys, "-n", namespace)
    put_secret(cluster, namespace, keys, other="x")
    cond = cluster.wait_condition(PLURAL, name, namespace, "False", "SecretKeyMissing")
    assert f'Secret "{namespace}/{keys}" has no key "api" ({REF})' in cond["message"]
    assert (cloud_env(emulator, ext(name)) or [{}])[-1].get("value") == new

    seen = everything_visible(cluster, namespace, name)
    assert old not in seen and new not in seen

    # Deletion needs no Secret (a namespace's Secrets may go first).
    cluster.kubectl("delete", "secret", keys, "-n", namespace)
    cluster.kubectl("delete", "cisvc", name, "-n", namespace, "--timeout=60s")
    assert emulator.service(ext(name)) is None


def manifest(namespace: str, env: list[dict[str, Any]]) -> str:
    return json.dumps(
        {
            "apiVersion": "cloudinfer.io/v1alpha1",
            "kind": "InferenceService",
            "metadata": {"name": "bad-env", "namespace": namespace},
            "spec": {
                "providerConfigRef": {"name": "emulator"},
                "eas": {"containers": [{"image": "img:1", "env": env}]},
            },
        }
    )


SECRET_REF = {"secretKeyRef": {"name": "keys", "key": "api"}}


@pytest.mark.parametrize(
    ("env", "field", "words"),
    [
        (
            [{"name": "A", "value": "1", "valueFrom": SECRET_REF}],
            "spec.eas.containers[0].env[0].valueFrom",
            "set exactly one of value and valueFrom",
        ),
        (
            [{"name": "A"}],
            "spec.eas.containers[0].env[0].valueFrom",
            "set exactly one of value and valueFrom",
        ),
        (
            [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}],
            "spec.eas.containers[0].env[1]",
            "Duplicate value",
        ),
        (
            [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "keys"}}}],
            "spec.eas.containers[0].env[0].valueFrom.secretKeyRef.key",
            "Required value",
        ),
        (
            [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "Bad_Name", "key": "k"}}}],
            "spec.eas.containers[0].env[0].valueFrom.secretKeyRef.name",
            "",
        ),
        ([{"name": "1A", "value": "x"}], "spec.eas.containers[0].env[0].name", ""),
    ],
    ids=["both", "neither", "duplicate-name", "no-key", "bad-secret-name", "bad-name"],
)
def test_malformed_env_is_refused_naming_the_entry(
    cluster: Cluster, namespace: str, env: list[dict[str, Any]], field: str, words: str
) -> None:
    result = cluster.kubectl("apply", "-f", "-", input=manifest(namespace, env), check=False)
    assert result.returncode != 0, f"accepted: {env}"
    assert field in result.stderr and words in result.stderr, result.stderr
