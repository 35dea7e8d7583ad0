"""The DeployServiceInstance and UpdateServiceInstance body checks (seed 001): every refusal
is 400 common.01000001 naming its parameter; the edges are accepted; bodies are normalized;
a refused update changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from cloudinfer.emulator.fabric.validation import check_deploy, check_update
from cloudinfer.emulator.pipeline import ApiError
from tests.unit.emulator.fabric_support import (
    ACCOUNT,
    INVALID_DEPLOYS,
    REGION,
    SPEC,
    VALID_DEPLOYS,
    WORKSPACE,
    body,
    deploy,
    resource,
    store,
)


@pytest.mark.parametrize("case", sorted(INVALID_DEPLOYS))
def test_invalid_deploy_bodies_are_refused_naming_the_parameter(case: str) -> None:
    raw, parameter = INVALID_DEPLOYS[case]
    with pytest.raises(ApiError) as raised:
        check_deploy(raw)
    assert (raised.value.status, raised.value.code) == (400, "common.01000001")
    assert parameter in raised.value.message, raised.value.message


@pytest.mark.parametrize("case", sorted(VALID_DEPLOYS))
def test_deploy_bodies_at_the_edges_are_accepted(case: str) -> None:
    s, _ = store()
    assert s.deploy(ACCOUNT, WORKSPACE, REGION, VALID_DEPLOYS[case]).status == "PENDING"


def test_a_deploy_body_is_normalized() -> None:
    parsed = check_deploy(body("svc", 7, 3, description="about", unknown_field=1))
    assert (parsed.name, parsed.description, parsed.endpoint_id) == ("svc", "about", "ep-1")
    assert (parsed.source_id, parsed.version_id) == ("m-1", "v-1")
    assert (parsed.min, parsed.max, parsed.spec_code) == (3, 7, SPEC)
    assert check_deploy(body(source="m-1") | {"source": {"id": "m-1"}}).version_id is None


@pytest.mark.parametrize(
    ("raw", "parameter"),
    [
        ([], "body"),
        ({"name": ""}, "name"),
        ({"description": "a<b"}, "description"),
        ({"source": {"id": "bad id"}}, "source.id"),
        ({"config": resource(max_=0)}, "resource.max"),
        ({"config": resource(max_="3")}, "resource.max"),
        ({"config": resource(min_=3, max_=2)}, "resource.max"),
        ({"config": {"model_instance_config": "x"}}, "config.model_instance_config"),
    ],
)
def test_invalid_update_bodies(raw: Any, parameter: str) -> None:
    with pytest.raises(ApiError) as raised:
        check_update(raw)
    assert (raised.value.status, raised.value.code) == (400, "common.01000001")
    assert parameter in raised.value.message


def test_an_update_body_takes_what_was_sent() -> None:
    assert check_update(None) == check_update({})
    parsed = check_update(
        {"name": "n", "source": {"id": "m-1", "version_id": None}, "config": resource(max_=4)}
    )
    assert (parsed.name, parsed.source_id, parsed.version_id) == ("n", "m-1", None)
    assert (parsed.min, parsed.max, parsed.description) == (None, 4, None)


def test_a_refused_update_changes_nothing() -> None:
    s, _ = store()
    inst = deploy(s, "svc", 2, description="before")
    with pytest.raises(ApiError):
        s.update(ACCOUNT, WORKSPACE, inst.instance_id, {"name": "after", "description": "a>b"})
    kept = s.get(ACCOUNT, WORKSPACE, inst.instance_id)
    assert (kept.name, kept.description, kept.max) == ("svc", "before", 2)
