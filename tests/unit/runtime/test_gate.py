"""The per-account gate: parked keys are woken one per freed slot, and a wake-up handed to
a key that no longer needs the account is passed on, never lost."""

from __future__ import annotations

from cloudinfer.runtime.gate import AccountGate


def test_parked_keys_are_woken_as_slots_free() -> None:
    woken: list[str] = []
    gate: AccountGate[str] = AccountGate(2, woken.append)
    assert gate.enter("acct", "a") and gate.enter("acct", "b")
    assert not gate.enter("acct", "c") and not gate.enter("acct", "d")
    assert gate.enter("other", "x")  # another account is not held up
    gate.leave("acct")
    assert woken == ["c"] and gate.enter("acct", "c")
    gate.settle("c")
    assert woken == ["c"]  # it used its wake-up


def test_a_wake_up_not_used_goes_to_the_next_key() -> None:
    woken: list[str] = []
    gate: AccountGate[str] = AccountGate(1, woken.append)
    assert gate.enter("acct", "a")
    assert not gate.enter("acct", "gone") and not gate.enter("acct", "waiting")
    gate.leave("acct")
    assert woken == ["gone"]
    gate.settle("gone")  # deleted meanwhile: its reconcile never entered
    assert woken == ["gone", "waiting"] and gate.enter("acct", "waiting")


def test_a_key_that_already_called_is_never_parked_half_way() -> None:
    woken: list[str] = []
    gate: AccountGate[str] = AccountGate(1, woken.append)
    assert gate.enter("acct", "a")
    assert not gate.enter("acct", "b")  # b has not started: it waits
    assert gate.enter("acct", "c", admitted_before=True)  # c is mid-way: it goes on
    gate.leave("acct")
    gate.leave("acct")
    assert woken == ["b"]
    assert gate.enter("acct", "b")
