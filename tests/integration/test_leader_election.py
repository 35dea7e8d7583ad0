"""Two operator processes with leader election on one Lease: only the leader acts; killed
(SIGKILL) during creates, the standby takes over within the lease duration and finishes
the work without a duplicate; stopped cleanly, the leader releases the lease and the standby
takes over at once; a leader whose lease is taken from it exits.

Each test runs on its own control plane with its own operators, so the session operator
(without leader election) cannot help."""

from __future__ import annotations

import signal
import socket
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import kubernetes
import pytest

from cloudinfer.controlplane import ControlPlane
from cloudinfer.controlplane.kubectl import apply_objects, install_crds
from cloudinfer.controlplane.local import free_port
from cloudinfer.dev import start_operator, stop_process
from tests.integration.conftest import (
    OPERATOR_NAMESPACE,
    Emulator,
    Operator,
    emulator_provider,
)
from tests.support import wait_for

COUNT = 8
LEASE = "cloudinfer-leader"


@pytest.fixture
def solo(monkeypatch: pytest.MonkeyPatch) -> Iterator[ControlPlane]:
    # Each operator's identity is host name and process id (not a shared $POD_NAME).
    monkeypatch.delenv("POD_NAME", raising=False)
    with ControlPlane() as cp:
        install_crds(cp.kubeconfig, OPERATOR_NAMESPACE)
        yield cp


class Replica(Operator):
    @property
    def identity(self) -> str:
        return f"{socket.gethostname()}-{self.process.pid}"

    def gauge(self, name: str) -> float | None:
        try:
            return self.metric(name)
        except httpx.HTTPError:  # not serving metrics yet
            return None


def start_replica(kubeconfig: Path, log_path: Path) -> Replica:
    port = free_port()
    proc = start_operator(
        kubeconfig,
        log_path,
        "--leader-election",
        f"--operator-namespace={OPERATOR_NAMESPACE}",
        "--verbose",
        f"--metrics-port={port}",
    )
    return Replica(proc, log_path, port)


class Lease:
    def __init__(self, kubeconfig: Path) -> None:
        api = kubernetes.config.new_client_from_config(config_file=str(kubeconfig))
        self.api = kubernetes.client.CoordinationV1Api(api)

    def read(self) -> Any:
        try:
            return self.api.read_namespaced_lease(LEASE, OPERATOR_NAMESPACE)
        except kubernetes.client.ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def holder(self) -> str | None:
        lease = self.read()
        return lease.spec.holder_identity if lease is not None else None


def leader_and_standby(lease: Lease, replicas: list[Replica]) -> tuple[Replica, Replica]:
    """Wait until one replica holds the lease and acts, and the other stands by."""
    by_id = {r.identity: r for r in replicas}
    holder = wait_for(
        lambda: lease.holder() in by_id and lease.holder(), 60, "one replica to hold the lease"
    )
    leader = by_id[holder]
    (standby,) = (r for r in replicas if r is not leader)
    wait_for(
        lambda: "standing by: lease" in standby.log() or standby.process.poll() is not None,
        60,
        "the other replica to stand by",
    )
    assert standby.process.poll() is None, standby.log()
    wait_for(
        lambda: leader.gauge("cloudinfer_leader") == 1 and standby.gauge("cloudinfer_leader") == 0,
        30,
        "cloudinfer_leader 1 on the leader, 0 on the standby",
    )
    return leader, standby


def test_the_standby_takes_over_when_the_leader_is_killed_during_creates(
    solo: ControlPlane, emulator: Emulator, tmp_path: Path
) -> None:
    kc = solo.kubeconfig
    lease = Lease(kc)
    api = kubernetes.config.new_client_from_config(config_file=str(kc))
    custom = kubernetes.client.CustomObjectsApi(api)
    ns = f"ha-{uuid.uuid4().hex[:6]}"
    names = [f"h{i}-{uuid.uuid4().hex[:6]}" for i in range(COUNT)]
    ours = {n.replace("-", "_") for n in names}

    def creates() -> list[dict[str, Any]]:
        return [c for c in emulator.calls("CreateService") if c["target"] in ours]

    def items() -> list[dict[str, Any]]:
        found = custom.list_namespaced_custom_object(
            "cloudinfer.io", "v1alpha1", ns, "inferenceservices"
        )
        return list(found["items"])

    def ready(obj: dict[str, Any]) -> bool:
        conditions = (obj.get("status") or {}).get("conditions") or []
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    replicas = [start_replica(kc, tmp_path / f"operator-{n}.log") for n in ("a", "b")]
    try:
        leader, standby = leader_and_standby(lease, replicas)

        # Creates are slow and two of them lose their answers after committing.
        emulator.fault(kind="latency", operation="CreateService", seconds=0.4)
        emulator.fault(kind="drop-response", operation="CreateService", count=2)
        apply_objects(
            kc,
            [
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
                *emulator_provider(emulator, ns, "emulator", "creds"),
                *(
                    {
                        "apiVersion": "cloudinfer.io/v1alpha1",
                        "kind": "InferenceService",
                        "metadata": {"name": n, "namespace": ns},
                        "spec": {
                            "providerConfigRef": {"name": "emulator"},
                            "eas": {"processor": "p", "instances": 1, "cpu": 1, "memory": 100},
                        },
                    }
                    for n in names
                ),
            ],
        )
        wait_for(lambda: len(creates()) >= 2, 60, "the leader's first creates")
        # Only the leader acts: the standby has not run a single reconcile.
        assert standby.metric("cloudinfer_reconciles_total") == 0
        assert leader.metric("cloudinfer_reconciles_total") > 0

        leader.process.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        leader.process.wait(10)

        # A provider config created while nobody acts: the standby lets it pass...
        apply_objects(kc, emulator_provider(emulator, ns, "late", "late-creds"))
        wait_for(
            lambda: f"ProviderConfig {ns}/late is evaluated by the leader" in standby.log(),
            30,
            "the standby to let the new provider config pass",
        )
        late = custom.get_namespaced_custom_object(
            "cloudinfer.io", "v1alpha1", ns, "providerconfigs", "late"
        )
        assert lease.holder() == leader.identity, "taken over too early to tell"
        assert not (late.get("status") or {}).get("conditions"), "a standby wrote status"

        wait_for(lambda: lease.holder() == standby.identity, 40, "the standby to take over")
        took = time.monotonic() - killed
        # The lease (15 s) ran out: not before it could have, and within it plus a look or
        # two on a loaded machine.
        assert 10 <= took <= 20, f"took over {took:.1f}s after the leader was killed"
        assert lease.read().spec.lease_transitions >= 1
        emulator.clear_faults()

        wait_for(
            lambda: len(items()) == COUNT and all(ready(i) for i in items()),
            120,
            "every InferenceService Ready after the takeover",
        )
        # ...and evaluates it once it leads.
        wait_for(
            lambda: ready(
                custom.get_namespaced_custom_object(
                    "cloudinfer.io", "v1alpha1", ns, "providerconfigs", "late"
                )
            ),
            30,
            "the provider config created meanwhile to be Ready",
        )
        assert standby.metric("cloudinfer_leader") == 1
        assert standby.metric("cloudinfer_reconciles_total") > 0
        uids = {i["metadata"]["name"].replace("-", "_"): i["metadata"]["uid"] for i in items()}
    finally:
        emulator.clear_faults()
        for replica in replicas:
            stop_process(replica.process)

    emulator.assert_one_service_each(ns, ours, uids)
    # The kill and the lost answers cost at most a few extra creates, each refused by name.
    assert all(c["status"] in (200, 409) for c in creates())


def test_a_clean_stop_hands_over_at_once_and_a_leader_that_loses_its_lease_exits(
    solo: ControlPlane, tmp_path: Path
) -> None:
    kc = solo.kubeconfig
    lease = Lease(kc)
    first = start_replica(kc, tmp_path / "operator-first.log")
    replicas = [first]
    try:
        wait_for(lambda: lease.holder() == first.identity, 60, "the first replica to lead")
        second = start_replica(kc, tmp_path / "operator-second.log")
        replicas.append(second)
        leader, standby = leader_and_standby(lease, replicas)
        assert leader is first and standby is second

        # SIGTERM: the leader stops acting, releases the lease, and exits cleanly.
        stop_process(first.process)
        stopped = time.monotonic()
        assert first.process.returncode == 0, first.log()
        assert "released lease" in first.log()
        wait_for(lambda: lease.holder() == second.identity, 30, "the standby to take over")
        took = time.monotonic() - stopped
        # Released: taken at the standby's next look, not after the 15 s lease ran out.
        assert took < 8, f"took over {took:.1f}s after the leader stopped"
        wait_for(lambda: second.gauge("cloudinfer_leader") == 1, 30, "the new leader's gauge")

        # Someone else holds the lease now: the leader stops acting at once, by exiting.
        current = lease.read()
        now = datetime.now(UTC)
        current.spec.holder_identity = "intruder"
        current.spec.acquire_time = current.spec.renew_time = now
        lease.api.replace_namespaced_lease(LEASE, OPERATOR_NAMESPACE, current)
        code = second.process.wait(30)
        assert code != 0
        assert "lost the leadership (the lease is now held by intruder)" in second.log()
    finally:
        for replica in replicas:
            stop_process(replica.process)
