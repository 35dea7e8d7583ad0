"""The reverse index keeps only values in use, and hands out copies."""

from __future__ import annotations

from cloudinfer.runtime.reverse import ReverseIndex


def test_keys_by_value_with_empty_entries_dropped() -> None:
    index: ReverseIndex[str, int] = ReverseIndex()
    index.add("a", 1)
    index.add("a", 2)
    index.add("b", 1)
    assert sorted(index.get("a")) == [1, 2] and index.get("c") == ()
    index.discard("a", 1)
    index.discard("a", 3)  # never added: nothing happens
    index.discard("x", 1)
    assert index.get("a") == (2,) and len(index) == 2
    index.discard("a", 2)
    assert index.get("a") == () and len(index) == 1


def test_a_copy_may_be_walked_while_the_index_changes() -> None:
    index: ReverseIndex[str, int] = ReverseIndex()
    for key in range(3):
        index.add("a", key)
    for key in index.get("a"):
        index.discard("a", key)
    assert len(index) == 0
