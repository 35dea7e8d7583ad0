"""CreateService and UpdateService body checks: each documented bound refused with its code
(the same table runs over HTTP with the official core in test_modelarts_sdk.py), and the
bodies at the edges accepted and normalized."""

from __future__ import annotations

from typing import Any

import pytest

from cloudinfer.emulator.modelarts.validation import check_create, check_update
from cloudinfer.emulator.pipeline import ApiError
from tests.unit.emulator.modelarts_support import (
    ACCOUNT,
    INVALID_CREATES,
    PROJECT,
    VALID_CREATES,
    create,
    model,
    store,
)


@pytest.mark.parametrize("case", sorted(INVALID_CREATES))
def test_invalid_create_bodies_are_refused_with_their_code(case: str) -> None:
    raw, code = INVALID_CREATES[case]
    with pytest.raises(ApiError) as raised:
        check_create(raw)
    assert (raised.value.status, raised.value.code) == (400, code)


@pytest.mark.parametrize("case", sorted(VALID_CREATES))
def test_bodies_at_the_edges_are_accepted(case: str) -> None:
    check_create(VALID_CREATES[case])


def test_create_bodies_are_normalized() -> None:
    created = check_create(
        {
            "service_name": "svc",
            "infer_type": "real-time",
            "config": [
                model("a", "70", "2", envs={"N": 1, "B": True, "S": "x"}),
                model("b", 30, specification="custom", custom_spec={"cpu": 0.255, "memory": 64}),
            ],
        }
    )
    a, b = created.config
    assert (a["weight"], a["instance_count"], a["envs"]) == (
        70,
        2,
        {"N": "1", "B": "true", "S": "x"},
    )
    assert b["custom_spec"] == {"cpu": 0.26, "memory": 64}  # the third decimal rounded off
    assert created.attributes == {"workspace_id": "0"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"status": "paused"}, "ModelArts.0101"),
        ({"config": [model(weight=50)]}, "ModelArts.0101"),
        ({"config": [model(instances=129)]}, "ModelArts.0101"),
        ({"description": "a&b"}, "ModelArts.0101"),
        ({"priority": 0}, "ModelArts.0101"),
        ({"config": [model("a", 50), model("a", 50)]}, "ModelArts.3516"),
        ([{"status": "running"}], "ModelArts.0101"),
    ],
)
def test_invalid_update_bodies(raw: Any, expected: str) -> None:
    with pytest.raises(ApiError) as raised:
        check_update(raw, "real-time")
    assert raised.value.code == expected


def test_with_a_status_the_config_is_ignored_unchecked() -> None:
    update = check_update({"status": "stopped", "config": [model(weight=1)]}, "real-time")
    assert (update.status, update.config) == ("stopped", None)
    assert check_update(None, "real-time").status is None  # an empty body changes nothing


def test_a_refused_update_changes_nothing() -> None:
    s, _ = store()
    svc = create(s, description="before")
    with pytest.raises(ApiError):
        s.update(ACCOUNT, PROJECT, svc.service_id, {"description": "after", "priority": 9})
    assert s.get(ACCOUNT, PROJECT, svc.service_id).attributes["description"] == "before"
