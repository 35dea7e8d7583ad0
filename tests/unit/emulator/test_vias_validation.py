"""The DeployAlgorithm body checks (DeployServiceReq): every refusal is 400 VIAS.00010001
naming its parameter; the edges are accepted; bodies are normalized; a refused deploy
changes nothing."""

from __future__ import annotations

import pytest

from cloudinfer.emulator.pipeline import ApiError
from cloudinfer.emulator.vias.errors import ViasError
from cloudinfer.emulator.vias.validation import check_deploy, check_id
from tests.unit.emulator.vias_support import (
    ACCOUNT,
    ALG,
    INVALID_DEPLOYS,
    PROJECT,
    VALID_DEPLOYS,
    body,
    service,
    store,
)


@pytest.mark.parametrize("case", sorted(INVALID_DEPLOYS))
def test_invalid_deploy_bodies_are_refused_naming_the_parameter(case: str) -> None:
    raw, parameter = INVALID_DEPLOYS[case]
    with pytest.raises(ViasError) as raised:
        check_deploy(raw)
    error = raised.value
    assert (error.status, error.code) == (400, "VIAS.00010001")
    assert parameter in error.message and error.params == (parameter,), error.message


@pytest.mark.parametrize("case", sorted(INVALID_DEPLOYS))
def test_a_refused_deploy_changes_nothing(case: str) -> None:
    s, _ = store()
    before = service(s).to_state()
    with pytest.raises(ApiError):
        s.deploy(ACCOUNT, PROJECT, ALG, INVALID_DEPLOYS[case][0])
    assert service(s).to_state() == before


@pytest.mark.parametrize("case", sorted(VALID_DEPLOYS))
def test_deploy_bodies_at_the_edges_are_accepted(case: str) -> None:
    s, _ = store()
    assert s.deploy(ACCOUNT, PROJECT, ALG, VALID_DEPLOYS[case]).status == "service_deploying"


def test_a_deploy_body_is_normalized() -> None:
    parsed = check_deploy(body(7, "pool-9", deploy_config={"a": [1]}, envs={"K": "v"}))
    assert (parsed.stream_count, parsed.pool_id) == (7, "pool-9")
    assert (parsed.deploy_config, parsed.envs) == ({"a": [1]}, {"K": "v"})
    bare = check_deploy({"stream_count": 1, "pool_id": ""})
    assert (bare.pool_id, bare.deploy_config, bare.envs) == (None, None, None)


def test_no_body_is_a_missing_stream_count() -> None:
    with pytest.raises(ViasError) as raised:
        check_deploy(None)
    assert raised.value.params == ("stream_count",)


@pytest.mark.parametrize("value", ["", "a" * 65, "alg_1", "alg 1", "alg/1", 7])
def test_ids_are_1_to_64_letters_digits_and_hyphens(value: object) -> None:
    with pytest.raises(ViasError) as raised:
        check_id(value, "alg_id")
    assert raised.value.code == "VIAS.00010001" and raised.value.params == ("alg_id",)
    assert check_id("a" * 64, "alg_id") == "a" * 64
