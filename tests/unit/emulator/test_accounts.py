"""Data is account-scoped, as on the real cloud: an account lists, reads, changes and deletes
only its own services; another account's service answers exactly as a missing one. Names
stay unique per region, so a name someone else holds is refused without saying more. Driven
with the official SDK, so this is what a real client sees."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from alibabacloud_eas20210701 import models as m
from alibabacloud_eas20210701.client import Client
from alibabacloud_tea_openapi.exceptions import ClientException

from cloudinfer.emulator.app import EmulatorConfig, EmulatorThread, parse_access_key
from cloudinfer.emulator.eas.service import Timing
from tests.unit.emulator.test_eas_sdk import REGION, client, config

OURS = "emulator-account"
THEIRS = "other-account"


@pytest.fixture
def emulator() -> Iterator[EmulatorThread]:
    keys = [
        parse_access_key("dev-access-key-id:dev-access-key-secret"),
        parse_access_key(f"dev2-id:dev2-secret::{OURS}"),  # a second key of the same account
        parse_access_key(f"other-id:other-secret::{THEIRS}"),
    ]
    timing = Timing(deploy_seconds=60, update_seconds=60, stop_seconds=60, delete_seconds=60)
    with EmulatorThread(EmulatorConfig(port=0, timing=timing, access_keys=keys)) as emu:
        yield emu


def refusal(call: Callable[[], Any]) -> tuple[int, str, str]:
    """The refusal's status, code and message (the message as the server wrote it: the
    SDK's own adds the request id)."""
    with pytest.raises(ClientException) as refused:
        call()
    data = refused.value.data or {}
    return refused.value.status_code, refused.value.code, str(data.get("Message"))


def operations(c: Client, name: str) -> dict[str, Callable[[], Any]]:
    """Every operation on one named service."""
    body = json.dumps({"metadata": {"instance": 3}})
    return {
        "describe": lambda: c.describe_service(REGION, name),
        "update": lambda: c.update_service(REGION, name, m.UpdateServiceRequest(body=body)),
        "version": lambda: c.update_service_version(
            REGION, name, m.UpdateServiceVersionRequest(version=1)
        ),
        "stop": lambda: c.stop_service(REGION, name),
        "start": lambda: c.start_service(REGION, name),
        "events": lambda: c.describe_service_event(REGION, name, m.DescribeServiceEventRequest()),
        "autoscaler": lambda: c.update_service_auto_scaler(
            REGION, name, m.UpdateServiceAutoScalerRequest(min=1, max=2)
        ),
        "clone": lambda: c.clone_service(
            REGION, name, m.CloneServiceRequest(body=json.dumps({"name": "copy"}))
        ),
        "delete": lambda: c.delete_service(REGION, name),
    }


def test_another_accounts_service_is_indistinguishable_from_a_missing_one(
    emulator: EmulatorThread,
) -> None:
    theirs, ours = client(emulator, "other-id", "other-secret"), client(emulator)
    theirs.create_service(m.CreateServiceRequest(body=config("theirs"), labels={"k": "v"}))
    before = emulator.emulator.eas_store.get(THEIRS, REGION, "theirs").to_api("h")

    listed = ours.list_services(m.ListServicesRequest()).body
    assert listed.total_count == 0 and not listed.services
    assert ours.list_services(m.ListServicesRequest(label={"k": "v"})).body.total_count == 0
    held, missing = operations(ours, "theirs"), operations(ours, "missing")
    for name, call in held.items():
        status, code, message = refusal(call)
        assert (status, code) == (404, "InvalidService.NotFound") and "theirs" in message, name
        assert (status, code, message.replace("theirs", "missing")) == refusal(missing[name])

    after = emulator.emulator.eas_store.get(THEIRS, REGION, "theirs").to_api("h")
    assert after == before  # none of that changed their service
    assert theirs.list_services(m.ListServicesRequest()).body.total_count == 1


def test_a_name_another_account_holds_is_refused_without_detail(
    emulator: EmulatorThread,
) -> None:
    theirs, ours = client(emulator, "other-id", "other-secret"), client(emulator)
    theirs.create_service(m.CreateServiceRequest(body=config("taken")))
    ours.create_service(m.CreateServiceRequest(body=config("mine")))

    created = refusal(lambda: ours.create_service(m.CreateServiceRequest(body=config("taken"))))
    cloned = refusal(
        lambda: ours.clone_service(
            REGION, "mine", m.CloneServiceRequest(body=json.dumps({"name": "taken"}))
        )
    )
    for status, code, message in (created, cloned):
        assert (status, code) == (403, "Forbidden.PrivilegeCheckFailed")
        assert "taken" in message and THEIRS not in message and "Creating" not in message
    # Ours, the same way round; and our own name again is a plain conflict.
    assert refusal(lambda: theirs.create_service(m.CreateServiceRequest(body=config("mine"))))[
        :2
    ] == (403, "Forbidden.PrivilegeCheckFailed")
    assert refusal(lambda: ours.create_service(m.CreateServiceRequest(body=config("mine"))))[
        :2
    ] == (409, "ServiceAlreadyExists")
    owners = {s.name: s.account for s in emulator.emulator.eas_store.all()}
    assert owners == {"taken": THEIRS, "mine": OURS}


def test_keys_of_one_account_share_its_services(emulator: EmulatorThread) -> None:
    first, second = client(emulator), client(emulator, "dev2-id", "dev2-secret")
    first.create_service(m.CreateServiceRequest(body=config("shared")))
    assert second.describe_service(REGION, "shared").body.caller_uid == OURS
    second.delete_service(REGION, "shared")
    assert first.describe_service(REGION, "shared").body.status == "Deleting"


def test_the_call_log_names_the_account_that_signed(emulator: EmulatorThread) -> None:
    theirs, ours = client(emulator, "other-id", "other-secret"), client(emulator)
    theirs.create_service(m.CreateServiceRequest(body=config("theirs")))
    refusal(lambda: ours.describe_service(REGION, "theirs"))
    refusal(lambda: client(emulator, secret="wrong").describe_service(REGION, "theirs"))
    calls = emulator.emulator.calls
    assert [(c["operation"], c["status"]) for c in calls.query(account=THEIRS)] == [
        ("CreateService", 200)
    ]
    assert [(c["operation"], c["status"]) for c in calls.query(account=OURS)] == [
        ("DescribeService", 404)
    ]
    unsigned = calls.query(account="")
    assert [(c["code"], c["target"]) for c in unsigned] == [("SignatureDoesNotMatch", "theirs")]
