from cloudinfer import conditions


def test_transition_time_kept_while_status_unchanged() -> None:
    first = conditions.merge(
        [], [conditions.make("Ready", False, "SecretNotFound", "a", 1)], now="T1"
    )
    second = conditions.merge(
        first, [conditions.make("Ready", False, "SecretKeyMissing", "b", 2)], now="T2"
    )
    assert second[0]["lastTransitionTime"] == "T1" and second[0]["reason"] == "SecretKeyMissing"
    third = conditions.merge(
        second, [conditions.make("Ready", True, "CredentialsAvailable", "", 2)], now="T3"
    )
    assert third[0]["lastTransitionTime"] == "T3" and third[0]["status"] == "True"


def test_other_conditions_kept_and_new_appended() -> None:
    start = conditions.merge([], [conditions.make("Ready", True, "Ok", "", 1)], now="T1")
    merged = conditions.merge(
        start, [conditions.make("Synced", False, "ReconcileError", "x", 1)], now="T2"
    )
    assert [c["type"] for c in merged] == ["Ready", "Synced"]
    assert conditions.find(merged, "Synced")["status"] == "False"


def test_same_ignores_order() -> None:
    a = [{"type": "Ready", "status": "True"}, {"type": "Synced", "status": "True"}]
    assert conditions.same(a, list(reversed(a)))
    assert not conditions.same(a, a[:1])
