"""The object cache's predicate: what others change wakes a reconcile; the echo of the
operator's own writes, and events older than what is held, do not."""

from __future__ import annotations

from typing import Any

from cloudinfer.runtime.cache import ObjectCache, secret_facts

KEY = ("InferenceService", "ns", "n")
OWN = frozenset({"cloudinfer.io/external-name"})


def body(rv: int, **meta: Any) -> dict[str, Any]:
    base = {"name": "n", "namespace": "ns", "uid": "u", "generation": 1, "resourceVersion": str(rv)}
    return {"metadata": {**base, **meta, "managedFields": [{"big": "x" * 1000}]}, "spec": {}}


def test_own_writes_are_not_changes_and_stale_events_are_ignored() -> None:
    cache = ObjectCache(OWN)
    assert cache.put(KEY, body(1))  # new: reconcile
    assert "managedFields" not in (cache.get(KEY) or {})["metadata"]
    ours = body(2, finalizers=["cloudinfer.io/finalizer"], annotations={**{k: "x" for k in OWN}})
    cache.expect(KEY, {k: "x" for k in OWN})  # the writer says so before it writes
    assert not cache.put(KEY, ours)  # the echo of our finalizer + annotation
    status_echo = body(
        3, finalizers=["cloudinfer.io/finalizer"], annotations=ours["metadata"]["annotations"]
    )
    assert not cache.put(KEY, {**status_echo, "status": {}})
    assert not cache.put(KEY, body(1, labels={"late": "event"}))  # older than held: ignored
    assert cache.put(KEY, body(4, labels={"team": "a"}))  # someone else's change
    assert cache.put(KEY, body(5, labels={"team": "a"}, generation=2))
    assert cache.put(KEY, body(6, labels={"team": "a"}, generation=2, deletionTimestamp="t"))
    assert cache.put(
        KEY,
        body(
            7, labels={"team": "a"}, generation=2, deletionTimestamp="t", annotations={"poke": "1"}
        ),
    )


def test_someone_else_editing_an_own_annotation_is_a_change() -> None:
    cache = ObjectCache(OWN)
    name = "cloudinfer.io/external-name"
    assert cache.put(KEY, body(1, annotations={name: "a"}))  # first sight: the baseline
    assert not cache.put(KEY, body(2, annotations={name: "a"}, labels={}))
    assert cache.put(KEY, body(3, annotations={name: "edited"}))  # not what we wrote
    assert cache.put(KEY, body(4, annotations={name: "a"}))  # put back: look again
    cache.expect(KEY, {name: "b"})
    assert not cache.put(KEY, body(5, annotations={name: "b"}))  # our own write's echo
    assert cache.put(KEY, body(6, annotations={}))  # removed by someone


def test_secret_facts_keep_credential_keys_and_the_digest_of_our_own_only() -> None:
    creds = secret_facts(
        {"metadata": {"name": "c"}, "data": {"accessKeyId": "YWs=", "other": "eA==", "bad": "!"}}
    )
    assert dict(creds.credentials) == {"accessKeyId": "ak"} and creds.digest == ""
    owned = secret_facts(
        {
            "metadata": {
                "name": "conn",
                "labels": {"app.kubernetes.io/managed-by": "cloudinfer"},
                "ownerReferences": [
                    {
                        "apiVersion": "cloudinfer.io/v1alpha1",
                        "kind": "InferenceService",
                        "name": "n",
                        "uid": "u1",
                        "controller": True,
                    }
                ],
            },
            "data": {"token": "dA=="},
        }
    )
    assert owned.digest and owned.owners == ("u1",)
    assert owned.owner_refs == (("cloudinfer.io/v1alpha1", "InferenceService", "n"),)


def test_secret_facts_keep_referenceable_values_out_of_repr() -> None:
    facts = secret_facts(
        {
            "metadata": {"name": "keys"},
            "type": "Opaque",
            "data": {"api": "UzNDUjNU", "binary": "//79"},  # "S3CR3T", not UTF-8
        }
    )
    assert dict(facts.values) == {"api": "S3CR3T"} and facts.keys == {"api", "binary"}
    assert "S3CR3T" not in repr(facts) and "UzNDUjNU" not in repr(facts)
    # Large Secrets and the cluster's own tokens are never held: only their key names.
    big = secret_facts({"metadata": {"name": "big"}, "data": {"blob": "QUFB" * 30000}})
    token = secret_facts(
        {
            "metadata": {"name": "sa"},
            "type": "kubernetes.io/service-account-token",
            "data": {"token": "dA=="},
        }
    )
    assert not big.values and big.keys == {"blob"}
    assert not token.values and token.keys == {"token"}


def test_who_recorded_a_name_is_indexed_across_namespaces() -> None:
    name = "cloudinfer.io/external-name"
    cache = ObjectCache(OWN, name_annotation=name)
    other = ("InferenceService", "team-b", "m")
    cache.put(KEY, body(1, annotations={name: "alg-1"}))
    cache.put(other, {**body(1, annotations={name: "alg-1"}), "metadata": {
        "name": "m", "namespace": "team-b", "uid": "v", "resourceVersion": "1",
        "annotations": {name: "alg-1"}}})  # fmt: skip
    held = cache.names_held("InferenceService", "alg-1")
    assert [b["metadata"]["uid"] for b in held] == ["u", "v"]  # by (kind, namespace, name)
    assert cache.names_held("AlgorithmService", "alg-1") == []
    cache.put(KEY, body(2, annotations={name: "alg-2"}))  # renamed
    assert [b["metadata"]["uid"] for b in cache.names_held("InferenceService", "alg-1")] == ["v"]
    cache.put(KEY, body(3))  # taken back
    assert cache.names_held("InferenceService", "alg-2") == []
    cache.drop(other)
    assert cache.names_held("InferenceService", "alg-1") == []
