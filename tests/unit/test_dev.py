"""`cloudinfer dev`'s pure parts: exit codes, the Ready check, and how a signal interrupts start-up
(the real signals, processes and control plane: tests/e2e/test_dev_supervision.py)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from cloudinfer import dev


def test_exit_codes() -> None:
    assert dev.exit_code_for(signal.SIGINT) == 130
    assert dev.exit_code_for(signal.SIGTERM) == 0


def test_not_ready_names_what_is_not_ready() -> None:
    def obj(kind: str, name: str, ns: str | None, **conditions: str) -> dict[str, Any]:
        meta = {"name": name, **({"namespace": ns} if ns else {})}
        status = {"conditions": [{"type": t, "status": s} for t, s in conditions.items()]}
        return {"kind": kind, "metadata": meta, "status": status}

    items = [
        obj("InferenceService", "ready", "default", Ready="True", Synced="True"),
        obj("InferenceService", "deploying", "default", Ready="False", Synced="True"),
        obj("ClusterProviderConfig", "shared", None, Synced="True"),
        {"kind": "ProviderConfig", "metadata": {"name": "new", "namespace": "team"}},
    ]
    assert dev.not_ready(items) == [
        "InferenceService default/deploying",
        "ClusterProviderConfig shared",
        "ProviderConfig team/new",
    ]
    assert dev.not_ready([]) == []


@pytest.fixture
def signals(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[dev._Signals, list[int]]]:
    """Signal handling installed in this process; what it would pass on to children recorded."""
    passed_on: list[int] = []

    def pass_on(signum: int) -> list[int]:
        passed_on.append(signum)
        return []

    monkeypatch.setattr(dev, "_signal_group_descendants", pass_on)
    handling = dev._Signals()
    with handling.installed():
        yield handling, passed_on


def test_the_first_signal_interrupts_and_is_passed_on(
    signals: tuple[dev._Signals, list[int]],
) -> None:
    handling, passed_on = signals
    with pytest.raises(dev.Interrupted) as raised:
        os.kill(os.getpid(), signal.SIGTERM)
        pytest.fail("not interrupted")
    assert raised.value.signum == signal.SIGTERM
    assert passed_on == [signal.SIGTERM]
    os.kill(os.getpid(), signal.SIGINT)  # a second one is only acknowledged
    assert handling.received == signal.SIGTERM and passed_on == [signal.SIGTERM]


def test_a_deferred_block_finishes_before_the_interruption(
    signals: tuple[dev._Signals, list[int]],
) -> None:
    handling, _ = signals
    finished = False
    with pytest.raises(dev.Interrupted), handling.deferred():
        os.kill(os.getpid(), signal.SIGINT)
        with handling.deferred():  # nested: the outermost raises
            pass
        finished = True
    assert finished and handling.received == signal.SIGINT


def test_no_interruption_once_the_clean_up_began(
    signals: tuple[dev._Signals, list[int]],
) -> None:
    handling, passed_on = signals
    handling.hold()
    os.kill(os.getpid(), signal.SIGINT)
    with handling.deferred():
        pass
    assert passed_on == [] and handling.received is None


def test_run_until_stopped_stops_what_was_started_and_returns_the_signal_exit_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(dev, "_signal_group_descendants", lambda signum: [])
    stopped: list[str] = []

    def body(signals: dev._Signals, stack: Any) -> int:
        stack.callback(stopped.append, "first")
        stack.callback(stopped.append, "second")
        os.kill(os.getpid(), signal.SIGINT)
        raise AssertionError("not interrupted")

    assert dev._run_until_stopped(body) == 130
    assert stopped == ["second", "first"]
    err = capsys.readouterr().err
    assert "[dev] SIGINT: stopping" in err and "[dev] stopped" in err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored


def test_run_until_stopped_says_an_environment_error_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def body(signals: dev._Signals, stack: Any) -> int:
        raise RuntimeError("port 18080 in use")

    assert dev._run_until_stopped(body) == 1
    assert "[dev] error: port 18080 in use" in capsys.readouterr().err
