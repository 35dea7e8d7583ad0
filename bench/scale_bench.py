"""Scale benchmark: N InferenceServices on PAI-EAS (or Huawei ModelArts), or N ServiceInstances
on Huawei DataArts Fabric, against the emulator.

On a fresh local control plane, the emulator and the operator (a separate process), it records:
  1. floor: a bare client (no operator) doing the creates and status writes the operator does,
     so the burst has an API-server yardstick: floor = max(create time, N / qps) + deploy time;
  2. single apply → Ready latency (a POST, as `kubectl apply` of a new object; operator warm);
  3. burst: N created → all Ready, its ratio to the floor, cloud calls and API-server requests;
  4. rest: API-server requests per minute by verb and resource (kube-apiserver's own
     `apiserver_request_total`), cloud calls per minute (the emulator's call log), operator CPU
     and RSS;
  5. soak (optional): RSS and CPU over a longer quiet period, for flatness;
  6. restart with everything Ready: cloud calls by operation, CR writes, time until quiet.

The benchmark never polls the API server with LISTs: Ready is tracked with one watch, and
while the operator alone is measured it makes no requests to the API server but GET /metrics,
which the API server does not count. The API server makes requests to itself (a lease, the
`kubernetes` Service's endpoints); an idle window before the operator starts measures those,
and they are subtracted or set apart.

`--cloud` picks the cloud (default eas, PAI-EAS; modelarts: Huawei ModelArts, server-named by
the service id the cloud returns; fabric: ServiceInstances on Huawei DataArts Fabric, server-named
by the instance id, on inference endpoints the benchmark seeds in the emulator). Only what
differs between them is per cloud (`Cloud`): the kind and the objects applied, the floor's
writes shaped like the operator's, the names of the calls, how the cloud's services are listed
and what one listing pass costs. Everything measured is the same.

Fabric: an inference endpoint holds at most 1,000 units, so the N instances (max 1 each) are
spread round-robin over ceil(N / 1000) endpoints of 1,000 units; the latency samples deploy on
an endpoint of their own, so the burst's endpoints start empty. The operator
checks an endpoint's capacity before each deploy (ShowEndpoint, a listing of the endpoint's
instances, a ShowServiceInstanceDetail of each one changed since it last looked), so the report
adds what those checks cost in the burst.

Writes a Markdown report (with the command that produced it) to bench/results/scale-<N>.md
(EAS), bench/results/modelarts-<N>.md or bench/results/fabric-<N>.md.
Every wait is bounded so that `make bench-scale BENCH_ARGS="--services 10000"` ends within
about 30 minutes on 2 cores, even when the operator misses its targets.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import re
import shlex
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import kubernetes
from kubernetes.watch.watch import iter_resp_lines
from prometheus_client.parser import text_string_to_metric_families

import cloudinfer
from cloudinfer.controlplane import ControlPlane
from cloudinfer.controlplane.kubectl import apply_objects, install_crds
from cloudinfer.controlplane.local import free_port
from cloudinfer.dev import start_emulator, start_operator, stop_process

ROOT = Path(__file__).resolve().parents[1]

# The user-facing contract (README), spelled out rather than imported: the benchmark drives
# the cluster as a user would, whatever the operator's internals look like.
GROUP, VERSION = "cloudinfer.io", "v1alpha1"
FINALIZER = "cloudinfer.io/finalizer"
EXTERNAL_NAME = "cloudinfer.io/external-name"
CREATE_PENDING = "cloudinfer.io/create-pending"
BENCH_NS, FLOOR_NS, PROVIDER = "bench", "bench-floor", "emulator"

# Concurrent requests of the benchmark's own client: about what the operator uses (its work
# queue runs 8 workers), so the floor is what the API server gives a client like it.
THREADS = 8
WRITE_VERBS = frozenset({"POST", "PUT", "PATCH", "APPLY", "DELETE", "DELETECOLLECTION"})
IDLE_SECONDS = 30.0  # the API server alone: its own periodic requests run every 10 s
POLL_SECONDS = 2.0  # /metrics and call-log polling while waiting for quiet
RESTART_QUIET_SECONDS = 10.0
# Bounds on waiting for quiet: far above what the targets allow (30 s after a restart, a
# few seconds after a burst), small enough that 10,000 services stay within 30 minutes.
RESTART_LIMIT_SECONDS = 180.0
SETTLE_LIMIT_SECONDS = 120.0
SAMPLE_SECONDS = 2.0  # operator CPU/RSS sampling period


def say(message: str) -> None:
    print(f"[scale] {message}", file=sys.stderr, flush=True)


# -- the objects ------------------------------------------------------------------------------


def conditions_of(ready: bool, reason: str, message: str) -> list[dict[str, Any]]:
    """Ready and Synced, shaped like the operator's."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [
        {
            "type": "Ready",
            "status": str(ready),
            "reason": reason,
            "message": message,
            "lastTransitionTime": now,
            "observedGeneration": 1,
        },
        {
            "type": "Synced",
            "status": "True",
            "reason": "ReconcileSuccess",
            "message": "",
            "lastTransitionTime": now,
            "observedGeneration": 1,
        },
    ]


# PAI-EAS: client-named (the name is recorded before the create).


def service_name(name: str) -> str:
    return name.replace("-", "_").replace(".", "_")


def eas_floor_writes(name: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One service's metadata patch (finalizer, external name) and its three status writes
    (Creating, instances seen, Running), shaped like the operator's."""
    service = service_name(name)
    metadata = {"finalizers": [FINALIZER], "annotations": {EXTERNAL_NAME: service}}
    endpoint = f"http://1234567890.cn-shanghai.pai-eas.aliyuncs.com/api/predict/{service}"
    statuses: list[dict[str, Any]] = [
        {
            "observedGeneration": 1,
            "serviceName": service,
            "phase": "Creating",
            "cloudStatus": "Creating",
            "progress": 0,
            "message": "service is creating (0% of instances running)",
            "conditions": conditions_of(False, "Creating", "service is creating"),
        },
        {
            "serviceId": f"eas-m-{service}",
            "instances": {"total": 1, "running": 0, "pending": 1},
            "url": endpoint,
            "endpoints": {"internet": endpoint},
        },
        {
            "phase": "Running",
            "cloudStatus": "Running",
            "progress": 100,
            "instances": {"total": 1, "running": 1, "pending": 0},
            "message": "service is running",
            "conditions": conditions_of(True, "Available", "service is running"),
        },
    ]
    return [{"metadata": metadata}], statuses


def eas_owner(service: dict[str, Any]) -> str | None:
    labels = {x["LabelKey"]: x["LabelValue"] for x in service.get("Labels") or []}
    return labels.get("cloudinfer-uid")


# Huawei ModelArts: server-named (a create-pending marker before the create, the service id
# the cloud returns recorded right after it).


def modelarts_floor_writes(name: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One service's two metadata patches (finalizer and create-pending marker; then the id)
    and its status writes (Creating with the id, Running with the address), shaped like the
    operator's."""
    service_id = str(uuid.uuid5(uuid.NAMESPACE_URL, name))
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    metadata: list[dict[str, Any]] = [
        {
            "metadata": {
                "finalizers": [FINALIZER],
                "annotations": {CREATE_PENDING: f"{uuid.uuid4()} {now}"},
            }
        },
        {"metadata": {"annotations": {EXTERNAL_NAME: service_id, CREATE_PENDING: None}}},
    ]
    address = f"https://{'0' * 32}.apig.cn-north-4.huaweicloudapis.com/v1/infers/{service_id}"
    statuses = [
        {
            "observedGeneration": 1,
            "serviceName": name,
            "serviceId": service_id,
            "phase": "Creating",
            "cloudStatus": "deploying",
            "progress": 0,
            "instances": {"total": 1},
            "appliedConfig": "0123456789abcdef",
            "message": "service is deploying",
            "conditions": conditions_of(False, "Creating", "service is deploying"),
        },
        {
            "phase": "Running",
            "cloudStatus": "running",
            "progress": 100,
            "url": address,
            "endpoints": {"internet": address},
            "message": "service is running",
            "conditions": conditions_of(True, "Available", "service is running"),
        },
    ]
    return metadata, statuses


def modelarts_owner(service: dict[str, Any]) -> str | None:
    owner = (service.get("additional_properties") or {}).get("cloudinfer-uid")
    return str(owner) if owner is not None else None


# Huawei DataArts Fabric: ServiceInstances, server-named by the instance id (as ModelArts), on
# inference endpoints the benchmark seeds; the owner marker is a suffix of the description.

FABRIC_WORKSPACE = "ws-bench"
FABRIC_SPEC_CODE = "mu.llama3.8b"
FABRIC_ENDPOINT_MAX = 1000  # the largest an endpoint may be (`reserved_resource.mu.max`)
FABRIC_LATENCY_ENDPOINT = "bench-ep-latency"
FABRIC_MARKER = re.compile(r"\[cloudinfer-uid: ([0-9a-fA-F-]{1,64}) ns: [a-z0-9-]{1,63}\]$")


def fabric_endpoints(services: int) -> list[str]:
    """The burst's endpoints: ceil(services / 1000), each holding at most 1,000 units."""
    return [f"bench-ep-{j}" for j in range(max(1, math.ceil(services / FABRIC_ENDPOINT_MAX)))]


def fabric_endpoint(name: str, services: int) -> str:
    """svc-<i> deploys on endpoint i mod k (round-robin, so every endpoint fills as the
    burst goes); the latency samples on an endpoint of their own."""
    if name.startswith("svc-"):
        endpoints = fabric_endpoints(services)
        return endpoints[int(name.removeprefix("svc-")) % len(endpoints)]
    return FABRIC_LATENCY_ENDPOINT


def fabric_spec(name: str, services: int) -> dict[str, Any]:
    return {
        "endpointId": fabric_endpoint(name, services),
        "source": {"id": "bench-model", "versionId": "v1"},
        "resource": {"min": 1, "max": 1, "specCode": FABRIC_SPEC_CODE},
    }


def fabric_seed(emulator: CloudCalls, services: int, latency: int) -> str:
    """The inference endpoints (the emulator's admin API); what was seeded, in words."""
    endpoints = fabric_endpoints(services)
    for endpoint_id in endpoints:
        emulator.put_fabric_endpoint(endpoint_id, FABRIC_WORKSPACE, FABRIC_ENDPOINT_MAX)
    emulator.put_fabric_endpoint(FABRIC_LATENCY_ENDPOINT, FABRIC_WORKSPACE, max(1, latency))
    per = math.ceil(services / len(endpoints))
    return (
        f"workspace {FABRIC_WORKSPACE}: the burst's {services} instances (resource min 1, max 1, "
        f"{FABRIC_SPEC_CODE}) round-robin on {len(endpoints)} inference endpoint(s) of "
        f"{FABRIC_ENDPOINT_MAX} units (up to {per} on each); the {latency} latency samples on "
        f"an endpoint of their own ({max(1, latency)} units)"
    )


def fabric_floor_writes(name: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One instance's two metadata patches (finalizer and create-pending marker; then the id)
    and its status writes (Pending with the id, Running with the address and resources),
    shaped like the operator's."""
    instance_id = str(uuid.uuid5(uuid.NAMESPACE_URL, name))
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    metadata: list[dict[str, Any]] = [
        {
            "metadata": {
                "finalizers": [FINALIZER],
                "annotations": {CREATE_PENDING: f"{uuid.uuid4()} {now}"},
            }
        },
        {"metadata": {"annotations": {EXTERNAL_NAME: instance_id, CREATE_PENDING: None}}},
    ]
    address = (
        f"https://fabric-ep.cn-north-4.myhuaweicloud.com/v1/workspaces/{FABRIC_WORKSPACE}"
        f"/services/instances/{instance_id}/invocations"
    )
    statuses = [
        {
            "observedGeneration": 1,
            "instanceName": name,
            "instanceId": instance_id,
            "phase": "Pending",
            "cloudStatus": "PENDING",
            "message": "instance is pending",
            "conditions": conditions_of(False, "Creating", "instance is pending"),
        },
        {
            "phase": "Running",
            "cloudStatus": "RUNNING",
            "progress": 100,
            "url": address,
            "endpoints": {"public": address},
            "instances": {"min": 1, "max": 1},
            "appliedConfig": "0123456789abcdef@2026-01-01T00:00:00.000Z",
            "message": "instance is running",
            "conditions": conditions_of(True, "Available", "instance is running"),
        },
    ]
    return metadata, statuses


def fabric_owner(instance: dict[str, Any]) -> str | None:
    found = FABRIC_MARKER.search(str(instance.get("description") or ""))
    return found.group(1) if found else None


@dataclass(frozen=True)
class Cloud:
    """What differs between the clouds the benchmark drives."""

    key: str  # --cloud
    title: str  # in the report
    kind: str  # the resource kind the benchmark applies
    plural: str  # its resource (plural) name
    provider: dict[str, Any]  # ProviderConfig spec, less endpoint, credentials and tuning
    spec: Callable[[str, int], dict[str, Any]]  # by name and burst size, less providerConfigRef
    floor_writes: Callable[[str], tuple[list[dict[str, Any]], list[dict[str, Any]]]]
    floor_text: str  # the floor's writes per service, in words
    create: str  # the call creating one service
    describe: str  # the call reading one service
    lister: str  # the call listing services (one page)
    page_size: int  # listing page the operator asks for
    mark_probe: bool  # one more call before a listing pass (where changes-only listings start)
    services_path: str  # the emulator's admin listing of every service
    owner: Callable[[dict[str, Any]], str | None]  # the owner marker (a CR uid) on a service
    status_field: str  # a service's status in that listing
    results_prefix: str  # bench/results/<prefix>-<N>.md
    # Each page starts on the previous page's last record (Fabric's record-offset paging).
    page_overlap: int = 0
    # The call reading a capacity before each create (Fabric: ShowEndpoint), if any.
    capacity: str | None = None
    # Seeds the emulator before anything runs (burst size, latency samples); says what, in words.
    seed: Callable[[CloudCalls, int, int], str] | None = None

    def pages(self, services: int) -> int:
        """Listing pages (no probe) one full listing of `services` takes."""
        if not self.page_overlap:
            return math.ceil(services / self.page_size)
        step = self.page_size - self.page_overlap
        return 1 + math.ceil(max(0, services - self.page_size) / step)

    def listing_pass(self, services: int) -> int:
        """Listing calls one full listing of `services` takes."""
        return self.pages(services) + (1 if self.mark_probe else 0)

    def listing_text(self) -> str:
        if self.page_overlap:
            return f"pages of {self.page_size}, each starting on the previous page's last"
        return "pages + mark probe" if self.mark_probe else "pages"


EAS = Cloud(
    key="eas",
    title="PAI-EAS",
    kind="InferenceService",
    plural="inferenceservices",
    provider={"cloud": "alibaba-eas", "region": "cn-shanghai"},
    spec=lambda _name, _services: {
        "eas": {"processor": "tensorflow_cpu", "instances": 1, "cpu": 1, "memory": 1000}
    },
    floor_writes=eas_floor_writes,
    floor_text="1 metadata patch (finalizer, annotation) and 3 status merge-patches",
    create="CreateService",
    describe="DescribeService",
    lister="ListServices",
    page_size=100,  # EAS's maximum
    mark_probe=True,
    services_path="/eas/services",
    owner=eas_owner,
    status_field="Status",
    results_prefix="scale",
)
MODELARTS = Cloud(
    key="modelarts",
    title="Huawei ModelArts",
    kind="InferenceService",
    plural="inferenceservices",
    provider={
        "cloud": "huawei-modelarts",
        "region": "cn-north-4",
        "projectId": "0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d",
    },
    spec=lambda _name, _services: {
        "modelarts": {
            "models": [
                {
                    "modelId": "bench-model",
                    "specification": "modelarts.vm.cpu.2u",
                    "instanceCount": 1,
                    "weight": 100,
                }
            ]
        }
    },
    floor_writes=modelarts_floor_writes,
    floor_text=(
        "2 metadata patches (finalizer and create-pending marker; then the service id) and "
        "2 status merge-patches"
    ),
    create="CreateService",
    describe="ShowService",
    lister="ListServices",
    page_size=1000,  # the API's default `limit`
    mark_probe=False,
    services_path="/modelarts/services",
    owner=modelarts_owner,
    status_field="status",
    results_prefix="modelarts",
)
FABRIC = Cloud(
    key="fabric",
    title="Huawei DataArts Fabric",
    kind="ServiceInstance",
    plural="serviceinstances",
    provider={
        "cloud": "huawei-fabric",
        "region": "cn-north-4",
        "projectId": "0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d",
        "workspaceId": FABRIC_WORKSPACE,
    },
    spec=fabric_spec,
    floor_writes=fabric_floor_writes,
    floor_text=(
        "2 metadata patches (finalizer and create-pending marker; then the instance id) and "
        "2 status merge-patches"
    ),
    create="DeployServiceInstance",
    describe="ShowServiceInstanceDetail",
    lister="ListServicesInstances",
    page_size=100,  # ListServicesInstances' largest `limit`
    mark_probe=False,
    services_path=f"/fabric/instances?workspace={FABRIC_WORKSPACE}",
    owner=fabric_owner,
    status_field="status",
    results_prefix="fabric",
    page_overlap=1,
    capacity="ShowEndpoint",
    seed=fabric_seed,
)
CLOUDS = {c.key: c for c in (EAS, MODELARTS, FABRIC)}


def manifest(name: str, namespace: str, cloud: Cloud, services: int) -> dict[str, Any]:
    """One resource of the cloud's kind, as a user would apply it."""
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": cloud.kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"providerConfigRef": {"name": PROVIDER}, **cloud.spec(name, services)},
    }


def is_ready(obj: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (obj.get("status") or {}).get("conditions") or []
    )


def in_parallel(fn: Callable[[str], None], names: Iterable[str]) -> float:
    """Run `fn` over `names` on THREADS threads; the wall time. Any failure is raised."""
    started = time.monotonic()
    with ThreadPoolExecutor(THREADS) as pool:
        for _ in pool.map(fn, names):
            pass
    return time.monotonic() - started


# -- what is measured, and how ----------------------------------------------------------------


class RequestKey(NamedTuple):
    verb: str
    group: str
    resource: str
    subresource: str

    def label(self) -> str:
        what = self.resource + (f"/{self.subresource}" if self.subresource else "")
        return f"{what} ({self.group})" if self.group else what


Requests = Counter[RequestKey]


def diff(after: Requests, before: Requests) -> Requests:
    return Counter({k: v - before[k] for k, v in after.items() if v - before[k] > 0})


def total(counts: Requests, keep: Callable[[RequestKey], bool]) -> float:
    return sum(v for k, v in counts.items() if keep(k))


def is_cr_write(key: RequestKey) -> bool:
    """A write to a cloudinfer resource (spec, metadata or status) or an Event."""
    return key.verb in WRITE_VERBS and (key.group == GROUP or key.resource == "events")


class ApiServerMetrics:
    """kube-apiserver's `apiserver_request_total`, read from /metrics with the admin client
    certificate (the API server does not count its /metrics requests there)."""

    def __init__(self, server: str, config: kubernetes.client.Configuration) -> None:
        # The client configuration has the kubeconfig's CA and client certificate as files.
        tls = ssl.create_default_context(cafile=config.ssl_ca_cert)
        tls.load_cert_chain(str(config.cert_file), str(config.key_file))
        self._http = httpx.Client(base_url=server, verify=tls, timeout=60)

    def requests(self) -> Requests:
        text = self._http.get("/metrics").raise_for_status().text
        # The full page is megabytes of histograms; parse only the one counter.
        lines = "\n".join(x for x in text.splitlines() if x.startswith("apiserver_request_total{"))
        counts: Requests = Counter()
        for family in text_string_to_metric_families(lines):
            for sample in family.samples:
                labels = sample.labels
                key = RequestKey(
                    labels.get("verb", ""),
                    labels.get("group", ""),
                    labels.get("resource", ""),
                    labels.get("subresource", ""),
                )
                counts[key] += int(sample.value)
        return counts

    def close(self) -> None:
        self._http.close()


class CloudCalls:
    """The emulator's call log (admin API)."""

    def __init__(self, port: int) -> None:
        self._http = httpx.Client(base_url=f"http://127.0.0.1:{port}/_emulator", timeout=60)

    def since(self, wall: float) -> list[dict[str, Any]]:
        calls: list[dict[str, Any]] = self._http.get("/calls", params={"since": wall}).json()
        return calls

    def clear(self) -> None:
        self._http.delete("/calls").raise_for_status()

    def services(self, path: str) -> list[dict[str, Any]]:
        """Every service the emulator holds (its admin listing, e.g. /modelarts/services)."""
        services: list[dict[str, Any]] = self._http.get(path).raise_for_status().json()
        return services

    def put_fabric_endpoint(self, endpoint_id: str, workspace: str, units: int) -> None:
        """A running DataArts Fabric inference endpoint of `units` at most (admin API)."""
        body = {"workspace": workspace, "spec_code": FABRIC_SPEC_CODE, "max": units}
        self._http.put(f"/fabric/endpoints/{endpoint_id}", json=body).raise_for_status()

    def close(self) -> None:
        self._http.close()


def burst_timeline(
    calls: list[dict[str, Any]], wall: float, ready_after: list[float], cloud: Cloud
) -> list[str]:
    """Per tenth of the burst: creates and listing pages sent (and, where the cloud has them,
    capacity reads and reads of one service), services turned Ready."""
    end = max([*ready_after, *(float(c["time"]) - wall for c in calls), 1.0])
    width = max(1.0, end / 10)
    slices = int(end // width) + 1
    ops = [cloud.create, cloud.lister]
    if cloud.capacity:
        ops += [cloud.capacity, cloud.describe]
    counts = {op: [0] * slices for op in ops}
    ready = [0] * slices
    for call in calls:
        at = min(slices - 1, max(0, int((float(call["time"]) - wall) // width)))
        if call["operation"] in counts:
            counts[call["operation"]][at] += 1
    for after in ready_after:
        ready[min(slices - 1, int(after // width))] += 1
    lines = [
        f"| seconds | {' | '.join(ops)} | turned Ready | Ready so far |",
        f"|---|{'---:|' * len(ops)}---:|---:|",
    ]
    so_far = 0
    for i in range(slices):
        so_far += ready[i]
        sent = " | ".join(str(counts[op][i]) for op in ops)
        lines.append(f"| {i * width:.0f}-{(i + 1) * width:.0f} | {sent} | {ready[i]} | {so_far} |")
    return lines


@dataclass
class CapacityCost:
    """What the capacity checks before each create cost in the burst, from the call log: each
    capacity read (e.g. ShowEndpoint) is one check that asked the cloud; the instances on the
    endpoint come from the observer's listing (counted under the lister), not per check."""

    checks: int
    deploys: int
    lister: int  # listing calls in the burst (the observer's)
    describes: int  # reads of one instance in the burst


def capacity_cost(calls: list[dict[str, Any]], cloud: Cloud) -> CapacityCost:
    ops = by_operation(c for c in calls if int(c["status"]) < 300)
    return CapacityCost(
        checks=ops[cloud.capacity or ""],
        deploys=ops[cloud.create],
        lister=ops[cloud.lister],
        describes=ops[cloud.describe],
    )


def by_operation(calls: Iterable[dict[str, Any]]) -> Counter[str]:
    return Counter(str(c["operation"]) for c in calls)


def operator_reconciles(metrics_port: int) -> Counter[str]:
    """cloudinfer_reconciles_total by outcome from the operator's own /metrics (empty when it
    does not export it); talks to the operator, not the API server."""
    try:
        text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
    except httpx.HTTPError:
        return Counter()
    counts: Counter[str] = Counter()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "cloudinfer_reconciles_total":
                counts[sample.labels.get("outcome", "")] += int(sample.value)
    return counts


# The operator's own histograms whose means say where a reconcile's time goes.
TIMINGS = (
    "cloudinfer_reconcile_duration_seconds",
    "cloudinfer_workqueue_queue_duration_seconds",
    "cloudinfer_cloud_request_duration_seconds",
)


def operator_timings(metrics_port: int) -> Counter[str]:
    """`_sum` and `_count` of TIMINGS (by operation for cloud calls) and the cloud retries by
    reason, from the operator's /metrics, as `name[label] sum|count` → value (empty when it
    cannot be read). Subtract two to get a window's."""
    try:
        text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
    except httpx.HTTPError:
        return Counter()
    figures: Counter[str] = Counter()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            label = sample.labels.get("operation", "")
            for name in TIMINGS:
                for suffix in ("_sum", "_count"):
                    if sample.name == name + suffix:
                        figures[f"{name}[{label}] {suffix[1:]}"] += sample.value
            if sample.name == "cloudinfer_cloud_retries_total":
                figures[f"retries[{label}/{sample.labels.get('reason', '')}]"] += sample.value
            if sample.name == "cloudinfer_workqueue_adds_total":
                figures[f"adds[{sample.labels.get('source', '')}]"] += sample.value
            if sample.name == "cloudinfer_watch_events_total":
                figures[f"watch[{sample.labels.get('outcome', '')}]"] += sample.value
    return figures


def timing_lines(figures: Counter[str]) -> list[str]:
    """Means of a window's operator timings, one line each, and its retries."""
    lines = []
    for key in sorted(k for k in figures if k.endswith(" count") and figures[k] > 0):
        base = key.removesuffix(" count")
        mean = figures[base + " sum"] / figures[key]
        name = base.replace("cloudinfer_", "").replace("_seconds", "")
        lines.append(f"- {name}: mean {mean * 1000:.0f} ms over {figures[key]:.0f}")
    for prefix, what in (
        ("retries[", "cloud retries"),
        ("adds[", "keys queued, by what asked"),
        ("watch[", "watch events"),
    ):
        counts = {k[len(prefix) : -1]: int(v) for k, v in figures.items() if k.startswith(prefix)}
        lines.append(f"- {what}: {({k: v for k, v in counts.items() if v > 0}) or 'none'}")
    return lines


@dataclass(frozen=True)
class Sample:
    t: float  # time.monotonic()
    cpu: float  # user + system CPU seconds so far
    rss: float  # MiB


class ProcSampler(threading.Thread):
    """CPU time and RSS of one process from /proc, every SAMPLE_SECONDS."""

    _tick = os.sysconf("SC_CLK_TCK")
    _page = os.sysconf("SC_PAGE_SIZE")

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[Sample] = []
        self._stop_event = threading.Event()

    def _sample(self) -> Sample:
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "; comm may hold spaces
        cpu = (int(fields[11]) + int(fields[12])) / self._tick  # utime, stime
        resident = int(Path(f"/proc/{self.pid}/statm").read_text().split()[1])
        return Sample(time.monotonic(), cpu, resident * self._page / 2**20)

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.samples.append(self._sample())
            except (OSError, ValueError, IndexError):
                return  # the process is gone
            self._stop_event.wait(SAMPLE_SECONDS)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()

    def between(self, start: float, end: float) -> list[Sample]:
        return [s for s in self.samples if start <= s.t <= end]


def cpu_percent(samples: list[Sample]) -> float:
    if len(samples) < 2 or samples[-1].t <= samples[0].t:
        return float("nan")
    return 100 * (samples[-1].cpu - samples[0].cpu) / (samples[-1].t - samples[0].t)


def mean_rss(samples: list[Sample]) -> float:
    return statistics.mean(s.rss for s in samples) if samples else float("nan")


def peak_rss(samples: list[Sample]) -> float:
    return max((s.rss for s in samples), default=float("nan"))


def thirds(samples: list[Sample]) -> tuple[list[Sample], list[Sample]]:
    third = max(2, len(samples) // 3)
    return samples[:third], samples[-third:]


class ReadyTracker(threading.Thread):
    """When each resource of a namespace first turned Ready, from one watch resumed
    by resourceVersion (a LIST only at the start and after a 410), never by polling."""

    def __init__(self, custom: Any, namespace: str, plural: str) -> None:
        super().__init__(daemon=True)
        self.custom, self.namespace, self.plural = custom, namespace, plural
        self.ready_at: dict[str, float] = {}
        self._order: list[str] = []  # names in the order they turned Ready
        self._cond = threading.Condition()
        self._stopping = False
        self._response: Any = None
        self.error: BaseException | None = None

    def _mark(self, obj: dict[str, Any]) -> None:
        name = obj["metadata"]["name"]
        if name not in self.ready_at and is_ready(obj):
            with self._cond:
                self.ready_at[name] = time.monotonic()
                self._order.append(name)
                self._cond.notify_all()

    def _list(self) -> str:
        listing = self.custom.list_namespaced_custom_object(
            GROUP, VERSION, self.namespace, self.plural
        )
        for obj in listing["items"]:
            self._mark(obj)
        return str(listing["metadata"]["resourceVersion"])

    def run(self) -> None:
        try:
            version = self._list()
            while not self._stopping:
                self._response = self.custom.list_namespaced_custom_object(
                    GROUP,
                    VERSION,
                    self.namespace,
                    self.plural,
                    watch=True,
                    resource_version=version,
                    allow_watch_bookmarks=True,
                    timeout_seconds=300,
                    _preload_content=False,
                )
                for line in iter_resp_lines(self._response):
                    event = json.loads(line)
                    obj = event["object"]
                    if event["type"] == "ERROR":
                        if obj.get("code") != 410:
                            raise RuntimeError(f"watch failed: {obj.get('message')}")
                        version = self._list()  # too old to resume: start again from a LIST
                        break
                    version = obj["metadata"]["resourceVersion"]
                    if event["type"] in ("ADDED", "MODIFIED"):
                        self._mark(obj)
                self._response.release_conn()
        except Exception as exc:
            if not self._stopping:  # stop() cuts the connection; that is not an error
                self.error = exc
                with self._cond:
                    self._cond.notify_all()

    def stop(self) -> None:
        """End the watch now, so it is not counted during a measurement window."""
        self._stopping = True
        if self._response is not None:
            self._response.shutdown()
        self.join(30)

    def wait_all(self, names: Iterable[str], timeout: float, what: str) -> bool:
        """Whether every name turned Ready within `timeout`. Linear in len(names): each
        newly Ready name is looked at once."""
        remaining = set(names)
        seen = 0
        started = time.monotonic()
        deadline = started + timeout
        next_report = started + 15
        with self._cond:
            while True:
                remaining.difference_update(self._order[seen:])
                seen = len(self._order)
                if not remaining:
                    return True
                if self.error is not None:
                    raise RuntimeError("the Ready watch failed") from self.error
                now = time.monotonic()
                if now >= deadline:
                    return False
                if now >= next_report:
                    say(f"{what}: {len(remaining)} not Ready after {now - started:.0f} s")
                    next_report = now + 15
                self._cond.wait(min(deadline - now, 1.0))


@dataclass
class Quiet:
    reached: bool
    last_activity: float | None  # seconds after the start: last write or cloud call
    first_listing: float | None  # seconds after the start: resources and the account listed
    waited: float


def wait_quiet(
    metrics: ApiServerMetrics,
    calls: CloudCalls,
    cloud: Cloud,
    background: frozenset[RequestKey],
    quiet_for: float,
    limit: float,
    until_listed: bool = False,
) -> Quiet:
    """Wait until the operator has made no API-server write and no cloud call for `quiet_for`
    seconds, looking only at /metrics and the emulator's call log. Writes the API server
    makes to itself (`background`) do not count. With `until_listed`, quiet only counts once
    the resources (the cloud's kind) have been listed and the cloud account too (a
    just-started operator that has not begun yet, e.g. still filling its indexes, is not
    quiet)."""
    start, wall_start = time.monotonic(), time.time()
    listing = RequestKey("LIST", GROUP, cloud.plural, "")

    def writes(counts: Requests) -> float:
        return total(counts, lambda k: k.verb in WRITE_VERBS and k not in background)

    first = metrics.requests()
    seen_writes, lists_before = writes(first), first[listing]
    last: float | None = None
    listed: float | None = None if until_listed else 0.0
    cloud_listed = False
    polled_wall = wall_start
    while True:
        time.sleep(POLL_SECONDS)
        now, wall = time.monotonic(), time.time()
        counts = metrics.requests()
        new_calls = calls.since(polled_wall)
        polled_wall = wall
        if writes(counts) > seen_writes:
            seen_writes = writes(counts)
            last = now - start  # known to within one poll
        if new_calls:
            last = max(last or 0.0, max(float(c["time"]) for c in new_calls) - wall_start)
        cloud_listed = cloud_listed or any(c["operation"] == cloud.lister for c in new_calls)
        if listed is None and counts[listing] > lists_before and cloud_listed:
            listed = now - start
        if listed is not None and now - start - max(last or 0.0, listed) >= quiet_for:
            return Quiet(True, last, listed if until_listed else None, now - start)
        if now - start >= limit:
            return Quiet(False, last, listed if until_listed else None, now - start)


@dataclass
class CloudCount:
    """The cloud's services at the end against the resources: one each, no more."""

    services: int
    resources: int
    statuses: Counter[str]
    duplicates: int  # services beyond the first of one owner
    unowned: int  # services without an owner marker
    missing: int  # resources without a service marked as theirs
    kind: str = "InferenceService"

    @property
    def ok(self) -> bool:
        return self.services == self.resources and not (
            self.duplicates or self.unowned or self.missing
        )

    def text(self) -> str:
        return (
            f"{self.services} for {self.resources} {self.kind}s; {self.duplicates} "
            f"duplicates, {self.unowned} unowned, {self.missing} missing"
        )


# -- the run ----------------------------------------------------------------------------------


@dataclass
class Window:
    """API-server requests, cloud calls and operator samples over one measured span."""

    seconds: float
    requests: Requests
    calls: list[dict[str, Any]]
    samples: list[Sample]


@dataclass
class Results:
    args: argparse.Namespace
    phases: dict[str, float] = field(default_factory=dict)
    phase_loads: dict[str, float] = field(default_factory=dict)  # 1-minute load at each end
    floor_create: float = 0.0
    floor_cleanup: float = 0.0
    idle: Window | None = None
    latencies: list[float] = field(default_factory=list)
    latency_calls: list[dict[str, Any]] = field(default_factory=list)  # the single applies'
    burst_submit: float = 0.0
    burst: float | None = None  # None: not all Ready within the limit
    burst_ready: int = 0
    burst_limit: float = 0.0
    burst_window: Window | None = None
    burst_wall: float = 0.0  # wall-clock start of the burst (the call log's clock)
    burst_ready_after: list[float] = field(default_factory=list)  # seconds, per service
    burst_reconciles: Counter[str] = field(default_factory=Counter)
    burst_timings: Counter[str] = field(default_factory=Counter)
    settle: Quiet | None = None
    rest: Window | None = None
    rest_reconciles: Counter[str] = field(default_factory=Counter)
    soak: Window | None = None
    stop_seconds: float = 0.0
    restart: Window | None = None
    restart_quiet: Quiet | None = None
    restart_reconciles: Counter[str] = field(default_factory=Counter)
    run_samples: list[Sample] = field(default_factory=list)
    run_started: float = 0.0
    load_before: float = field(default_factory=lambda: os.getloadavg()[0])
    load_burst: float = float("nan")  # 1-minute load average as the burst ends
    # Read at the start: others may edit the work tree while the run lasts.
    code: str = field(default_factory=lambda: operator_code())
    restart_samples: list[Sample] = field(default_factory=list)
    cloud_end: CloudCount | None = None
    seeded: str = ""  # what the benchmark seeded in the emulator (Fabric's endpoints), in words

    @property
    def services(self) -> int:
        """Every resource that exists at rest: the burst and the latency samples."""
        return int(self.args.services + self.args.latency_samples)

    @property
    def floor(self) -> float:
        args = self.args
        return float(max(self.floor_create, args.services / args.qps) + args.deploy_seconds)


class Phase:
    """Times a phase of the run for the report (is 10,000 within 30 minutes?)."""

    def __init__(self, results: Results, name: str) -> None:
        self.results, self.name = results, name

    def __enter__(self) -> None:
        say(self.name)
        self.started = time.monotonic()

    def __exit__(self, *_: object) -> None:
        self.results.phases[self.name] = time.monotonic() - self.started
        self.results.phase_loads[self.name] = os.getloadavg()[0]


def measure(
    metrics: ApiServerMetrics,
    calls: CloudCalls,
    sampler: ProcSampler | None,
    body: Callable[[], None],
) -> Window:
    """Run `body` between two /metrics scrapes; the calls and samples in between."""
    before, wall, start = metrics.requests(), time.time(), time.monotonic()
    body()
    after, end = metrics.requests(), time.monotonic()
    samples = sampler.between(start, end) if sampler else []
    return Window(end - start, diff(after, before), calls.since(wall), samples)


def setup_objects(args: argparse.Namespace, cloud: Cloud, port: int) -> list[dict[str, Any]]:
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": BENCH_NS}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": FLOOR_NS}},
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "creds", "namespace": BENCH_NS},
            "stringData": {
                "accessKeyId": "dev-access-key-id",
                "accessKeySecret": "dev-access-key-secret",
            },
        },
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "ProviderConfig",
            "metadata": {"name": PROVIDER, "namespace": BENCH_NS},
            "spec": {
                **cloud.provider,
                "endpoint": f"http://127.0.0.1:{port}",
                "credentialsSecretRef": {"name": "creds"},
                "rateLimit": {"qps": args.qps},
                "pollIntervals": {
                    "transitionalSeconds": args.transitional,
                    "stableSeconds": args.stable,
                },
            },
        },
    ]


@dataclass
class Bench:
    """The stack under test and the benchmark's clients; one method per phase, each filling
    in `results`."""

    args: argparse.Namespace
    cloud: Cloud
    results: Results
    kubeconfig: Path
    custom: Any  # kubernetes.client.CustomObjectsApi
    metrics: ApiServerMetrics
    calls: CloudCalls
    log: Path
    metrics_port: int = field(default_factory=free_port)
    operator: subprocess.Popen[bytes] | None = None

    @property
    def plural(self) -> str:
        return self.cloud.plural

    def create(self, name: str, namespace: str = BENCH_NS) -> None:
        self.custom.create_namespaced_custom_object(
            GROUP,
            VERSION,
            namespace,
            self.plural,
            manifest(name, namespace, self.cloud, self.args.services),
        )

    def start_operator(self) -> ProcSampler:
        self.operator = start_operator(
            self.kubeconfig,
            self.log,
            f"--metrics-port={self.metrics_port}",
            *self.args.operator_arg,
        )
        sampler = ProcSampler(self.operator.pid)
        sampler.start()
        return sampler

    def reconciles(self) -> Counter[str]:
        return operator_reconciles(self.metrics_port)

    def floor(self, names: list[str]) -> None:
        """The floor's create time (creates plus the operator's writes per service), then
        clear them away (finalizers off, one DELETECOLLECTION): the operator must see none."""
        custom, plural = self.custom, self.plural

        def writes(name: str) -> None:
            self.create(name, FLOOR_NS)
            metadata, statuses = self.cloud.floor_writes(name)
            for patch in metadata:
                custom.patch_namespaced_custom_object(GROUP, VERSION, FLOOR_NS, plural, name, patch)
            for status in statuses:
                custom.patch_namespaced_custom_object_status(
                    GROUP, VERSION, FLOOR_NS, plural, name, {"status": status}
                )

        def release(name: str) -> None:
            custom.patch_namespaced_custom_object(
                GROUP, VERSION, FLOOR_NS, plural, name, {"metadata": {"finalizers": None}}
            )

        self.results.floor_create = in_parallel(writes, names)
        started = time.monotonic()
        in_parallel(release, names)
        custom.delete_collection_namespaced_custom_object(GROUP, VERSION, FLOOR_NS, plural)
        self.results.floor_cleanup = time.monotonic() - started

    def wait_provider_ready(self, timeout: float = 60) -> None:
        """The operator is up once it has judged the ProviderConfig (a few GETs, before any
        measurement)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pc = self.custom.get_namespaced_custom_object(
                GROUP, VERSION, BENCH_NS, "providerconfigs", PROVIDER
            )
            if is_ready(pc):
                return
            time.sleep(0.5)
        raise RuntimeError(f"ProviderConfig {PROVIDER} not Ready within {timeout:g} s")

    def latency(self, tracker: ReadyTracker) -> None:
        wall = time.time()
        for i in range(self.args.latency_samples):
            name = f"latency-{i}"
            started = time.monotonic()
            self.create(name)
            if not tracker.wait_all([name], 120, name):
                raise RuntimeError(f"{name} not Ready within 120 s; see {self.log}")
            self.results.latencies.append(tracker.ready_at[name] - started)
        self.results.latency_calls = self.calls.since(wall)

    def burst(self, tracker: ReadyTracker, sampler: ProcSampler, names: list[str]) -> None:
        results = self.results
        self.calls.clear()  # the burst's calls only (the log keeps at most 100,000)
        reconciles = self.reconciles()
        timings = operator_timings(self.metrics_port)
        # Well past the 1.3 x floor target, yet bounded so that 10,000 services stay within
        # 30 minutes even when the operator is far too slow (--burst-limit: another bound).
        results.burst_limit = self.args.burst_limit or max(300.0, 3 * results.floor)

        def burst() -> None:
            started = time.monotonic()
            results.burst_wall = time.time()
            results.burst_submit = in_parallel(self.create, names)
            if tracker.wait_all(names, results.burst_limit, "burst"):
                results.burst = max(tracker.ready_at[n] for n in names) - started
            results.burst_ready = sum(n in tracker.ready_at for n in names)
            results.burst_ready_after = [
                tracker.ready_at[n] - started for n in names if n in tracker.ready_at
            ]

        results.burst_window = measure(self.metrics, self.calls, sampler, burst)
        results.burst_reconciles = self.reconciles() - reconciles
        results.burst_timings = operator_timings(self.metrics_port)
        results.burst_timings.subtract(timings)
        results.load_burst = os.getloadavg()[0]

    def settle(self, background: frozenset[RequestKey]) -> None:
        """After the burst: two transitional intervals, then until neither writes nor cloud
        calls happened for longer than one transitional poll interval (bounded)."""
        started = time.monotonic()
        time.sleep(2 * self.args.transitional)
        quiet = wait_quiet(
            self.metrics,
            self.calls,
            self.cloud,
            background,
            self.args.transitional + 3,
            SETTLE_LIMIT_SECONDS,
        )
        quiet.waited = time.monotonic() - started
        self.results.settle = quiet

    def count_cloud(self) -> None:
        """The cloud's services by owner against the resources (one LIST and the emulator's
        admin listing, after every measurement)."""
        services = self.calls.services(self.cloud.services_path)
        listing = self.custom.list_namespaced_custom_object(GROUP, VERSION, BENCH_NS, self.plural)
        uids = {obj["metadata"]["uid"] for obj in listing["items"]}
        owners = Counter(self.cloud.owner(s) for s in services)
        unowned = owners.pop(None, 0)
        self.results.cloud_end = CloudCount(
            services=len(services),
            resources=len(uids),
            statuses=Counter(str(s.get(self.cloud.status_field)) for s in services),
            duplicates=sum(n - 1 for n in owners.values()),
            unowned=unowned,
            missing=len(uids - set(owners)),
            kind=self.cloud.kind,
        )

    def rest(self, sampler: ProcSampler | None, seconds: float) -> Window:
        """Nothing but waiting: the benchmark makes no request to the API server meanwhile."""
        self.calls.clear()
        return measure(self.metrics, self.calls, sampler, lambda: time.sleep(seconds))

    def restart(self, sampler: ProcSampler, background: frozenset[RequestKey]) -> None:
        results = self.results
        assert self.operator is not None
        started = time.monotonic()
        stop_process(self.operator)
        results.stop_seconds = time.monotonic() - started
        sampler.stop()
        results.run_samples = sampler.samples
        self.calls.clear()

        def restart() -> None:
            restarted = self.start_operator()
            results.restart_quiet = wait_quiet(
                self.metrics,
                self.calls,
                self.cloud,
                background,
                RESTART_QUIET_SECONDS,
                RESTART_LIMIT_SECONDS,
                until_listed=True,
            )
            results.restart_reconciles = self.reconciles()
            restarted.stop()
            results.restart_samples = restarted.samples

        results.restart = measure(self.metrics, self.calls, None, restart)


def run(args: argparse.Namespace, cloud: Cloud, state: Path) -> Results:
    results = Results(args)
    names = [f"svc-{i:05d}" for i in range(args.services)]
    port = free_port()
    cp_dir = state / "control-plane" if args.keep else None  # given a directory, it keeps it
    if cp_dir is not None:
        cp_dir.mkdir()
    with ControlPlane(workdir=cp_dir) as cp:
        config = kubernetes.client.Configuration()
        kubernetes.config.load_kube_config(
            config_file=str(cp.kubeconfig), client_configuration=config
        )
        config.connection_pool_maxsize = THREADS + 2  # the workers, the watch, spare
        api = kubernetes.client.ApiClient(config)
        install_crds(cp.kubeconfig, "cloudinfer-system")
        emulator = start_emulator(state, port, f"--deploy-seconds={args.deploy_seconds}")
        bench = Bench(
            args,
            cloud,
            results,
            cp.kubeconfig,
            kubernetes.client.CustomObjectsApi(api),
            ApiServerMetrics(cp.server, config),
            CloudCalls(port),
            state / "operator.log",
        )
        try:
            if cloud.seed is not None:
                results.seeded = cloud.seed(bench.calls, args.services, args.latency_samples)
            apply_objects(cp.kubeconfig, setup_objects(args, cloud, port))
            with Phase(results, "floor: a bare client's creates and status writes"):
                bench.floor(names)
            # The API server alone, nobody else talking to it: its own requests.
            with Phase(results, f"idle API server ({IDLE_SECONDS:g} s)"):
                results.idle = bench.rest(None, IDLE_SECONDS)
            background = frozenset(results.idle.requests)

            sampler = bench.start_operator()
            results.run_started = time.monotonic()
            tracker = ReadyTracker(bench.custom, BENCH_NS, cloud.plural)
            tracker.start()
            bench.wait_provider_ready()
            with Phase(results, "single apply → Ready"):
                bench.latency(tracker)
            with Phase(results, f"burst: {args.services} created → all Ready"):
                bench.burst(tracker, sampler, names)
            tracker.stop()

            with Phase(results, "settle"):
                bench.settle(background)
            with Phase(results, f"rest ({args.rest_seconds:g} s)"):
                reconciles = bench.reconciles()
                results.rest = bench.rest(sampler, args.rest_seconds)
                results.rest_reconciles = bench.reconciles() - reconciles
            if args.soak_minutes > 0:
                with Phase(results, f"soak ({args.soak_minutes:g} min)"):
                    results.soak = bench.rest(sampler, args.soak_minutes * 60)
            with Phase(results, "restart with everything Ready"):
                bench.restart(sampler, background)
            bench.count_cloud()
        finally:
            if bench.operator is not None:
                stop_process(bench.operator)
            stop_process(emulator)
            bench.calls.close()
            bench.metrics.close()
            api.close()
    return results


# -- the report -------------------------------------------------------------------------------


def per_minute(count: float, seconds: float) -> float:
    return count * 60 / seconds if seconds > 0 else float("nan")


def gets(window: Window) -> float:
    return total(window.requests, lambda k: k.verb == "GET" and bool(k.resource))


def verdict(ok: bool | None) -> str:
    return {True: "pass", False: "**FAIL**", None: "—"}[ok]


def requests_table(window: Window, idle: Window) -> list[str]:
    """Resource requests by verb and resource, per minute, next to the API server's own rate
    (from the idle window)."""
    lines = [
        "| verb | resource (group) | count | per minute | API server alone, per minute |",
        "|---|---|---:|---:|---:|",
    ]
    rows = sorted(
        ((k, v) for k, v in window.requests.items() if k.resource),
        key=lambda kv: (-kv[1], kv[0]),
    )
    for key, count in rows:
        lines.append(
            f"| {key.verb} | {key.label()} | {count:.0f} | "
            f"{per_minute(count, window.seconds):.1f} | "
            f"{per_minute(idle.requests[key], idle.seconds):.1f} |"
        )
    if not rows:
        lines.append("| — | none | 0 | 0 | |")
    # The API server does not count its own /metrics; these are discovery and probes.
    other = total(window.requests, lambda k: not k.resource)
    return [*lines, "", f"Non-resource requests (discovery, health probes): {other:.0f}"]


def calls_table(calls: list[dict[str, Any]], seconds: float | None) -> list[str]:
    ops = by_operation(calls)
    lines = ["| operation | calls | per minute |", "|---|---:|---:|"]
    for op, n in sorted(ops.items(), key=lambda kv: (-kv[1], kv[0])):
        rate = f"{per_minute(n, seconds):.2f}" if seconds else ""
        lines.append(f"| {op} | {n} | {rate} |")
    if not ops:
        lines.append("| none | 0 | 0 |")
    errors = Counter(str(c.get("code") or c.get("status")) for c in calls if c["status"] >= 400)
    if errors:
        lines += ["", "Errors answered: " + ", ".join(f"{k} x {v}" for k, v in errors.items())]
    return lines


def timeline(samples: list[Sample], origin: float, points: int = 24) -> list[str]:
    """Operator RSS and CPU over time, about `points` rows (CPU between rows)."""
    if len(samples) < 2:
        return ["(too few samples)"]
    picked = samples[:: math.ceil((len(samples) - 1) / points)]
    if picked[-1] is not samples[-1]:
        picked.append(samples[-1])
    lines = ["| t (s) | RSS (MiB) | CPU since previous row (% of a core) |", "|---:|---:|---:|"]
    for previous, s in zip([None, *picked], picked, strict=False):
        cpu = f"{cpu_percent([previous, s]):.1f}" if previous else ""
        lines.append(f"| {s.t - origin:.0f} | {s.rss:.1f} | {cpu} |")
    return lines


def operator_code() -> str:
    """Which operator was measured: the package directory and its git commit."""
    package = Path(cloudinfer.__file__).parent
    head = subprocess.run(
        ["git", "-C", str(package), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
    )
    if head.returncode != 0:
        return f"{package} (not in a git checkout)"
    dirty = subprocess.run(
        ["git", "-C", str(package), "status", "--porcelain", "--", "."],
        capture_output=True,
        text=True,
    ).stdout.strip()
    if not dirty:
        return f"{package} at git {head.stdout.strip()}"
    # Which uncommitted state: a digest of the diff and of the untracked files' names.
    changes = subprocess.run(
        ["git", "-C", str(package), "diff", "HEAD", "--", "."], capture_output=True
    ).stdout
    digest = hashlib.sha256(changes + dirty.encode()).hexdigest()[:12]
    return f"{package} at git {head.stdout.strip()} + uncommitted changes (digest {digest})"


class Report:
    """The figures of one run, worked out once, and the Markdown built from them."""

    def __init__(self, results: Results, cloud: Cloud, command: str) -> None:
        self.results, self.cloud, self.command = results, cloud, command
        r = results
        assert r.idle and r.rest and r.burst_window and r.restart
        assert r.settle and r.restart_quiet
        self.args, self.n = r.args, r.args.services
        self.idle, self.rest, self.burst, self.restart = r.idle, r.rest, r.burst_window, r.restart
        self.settle, self.quiet = r.settle, r.restart_quiet
        # The issue sets targets at 1,000 and at 10,000.
        self.scale = "10k" if self.n > 1000 else "1k"
        self.rest_gets = per_minute(gets(self.rest), self.rest.seconds)
        self.idle_gets = per_minute(gets(self.idle), self.idle.seconds)
        self.rest_cpu = cpu_percent(self.rest.samples)
        self.ratio = r.burst / r.floor if r.burst is not None else None
        self.latency = statistics.median(r.latencies)
        self.restart_ops = by_operation(self.restart.calls)
        # One listing pass: its pages, and (EAS) the one-item call before it that marks
        # where changes-only listings start (the observer's burst listings).
        self.pages = self.cloud.listing_pass(r.services)
        self.cr_writes = total(self.restart.requests, is_cr_write)

    def markdown(self) -> str:
        return "\n".join(
            [
                *self.header(),
                *self.summary(),
                *self.floor(),
                *self.bursts(),
                *self.at_rest(),
                *self.soak(),
                *self.restarted(),
                *self.over_time(),
            ]
        )

    def header(self) -> list[str]:
        args, r = self.args, self.results
        return [
            f"# Scale benchmark: {self.n} {self.cloud.kind}s on {self.cloud.title} (emulator)",
            "",
            f"- command: `{self.command}`",
            f"  (`.venv/bin/python bench/scale_bench.py {shlex.join(sys.argv[1:])}`)",
            f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}; machine: "
            f"{platform.machine()}, {os.cpu_count()} cores; Python {platform.python_version()}; "
            f"whole run {sum(r.phases.values()) / 60:.1f} min; load average at the start "
            f"{r.load_before:.2f}, as the burst ended {r.load_burst:.2f} (the machine may be "
            "shared)",
            f"- operator code: {r.code}",
            f"- {self.n} services in the burst + {args.latency_samples} latency samples; "
            f"emulator deploy time {args.deploy_seconds:g} s; ProviderConfig rateLimit qps "
            f"{args.qps:g} (burst default); poll intervals transitional {args.transitional} s, "
            f"stable {args.stable} s; rest window {args.rest_seconds:g} s; soak "
            f"{args.soak_minutes:g} min; the benchmark's client uses {THREADS} concurrent "
            "requests",
            *([f"- emulator seeded: {r.seeded}"] if r.seeded else []),
            "",
        ]

    def summary(self) -> list[str]:
        args, r, quiet, end = self.args, self.results, self.quiet, self.results.cloud_end
        cpu_target = 5.0 if self.scale == "10k" else 2.0
        rss_target = 384.0 if self.scale == "10k" else 128.0
        run_peak = peak_rss(r.run_samples)
        operator_gets = max(0.0, self.rest_gets - self.idle_gets)
        if r.burst is not None and self.ratio is not None:
            burst = f"{r.burst:.1f} s = {self.ratio:.2f} x floor ({r.floor:.1f} s)"
        else:
            burst = (
                f"not all Ready within {r.burst_limit:.0f} s "
                f"({r.burst_ready} of {self.n}; floor {r.floor:.1f} s)"
            )
        quiet_at = quiet.last_activity if quiet.last_activity is not None else quiet.first_listing
        quiet_ok = quiet.reached and quiet_at is not None
        soak_text, soak_ok = "not run (--soak-minutes 0)", None
        soak_rows: list[tuple[str, str, str, bool | None]] = []
        if r.soak is not None:
            early, late = thirds(r.soak.samples)
            growth = mean_rss(late) - mean_rss(early)
            soak_text = f"{growth:+.1f} MiB, first to last third of {r.soak.seconds / 60:.1f} min"
            soak_ok = growth <= 0.05 * mean_rss(early)
            # A soak longer than the stable interval also sees per-resource resyncs, which a
            # short rest window can miss.
            soak_gets = per_minute(gets(r.soak), r.soak.seconds)
            soak_cpu = cpu_percent(r.soak.samples)
            soak_rows = [
                (
                    "API-server GETs per minute over the soak (the API server's own subtracted)",
                    f"{max(0.0, soak_gets - self.idle_gets):.1f}",
                    "≤ 10",
                    soak_gets - self.idle_gets <= 10,
                ),
                (
                    "operator CPU over the soak",
                    f"{soak_cpu:.2f} % of a core",
                    f"≤ {cpu_target:g} % @{self.scale}",
                    soak_cpu <= cpu_target,
                ),
            ]
        latency_target = args.deploy_seconds + 1.5
        describe, lister = self.cloud.describe, self.cloud.lister
        describes, lists = self.restart_ops[describe], self.restart_ops[lister]
        rows: list[tuple[str, str, str, bool | None]] = [
            (
                "API-server GETs per minute at rest (the API server's own subtracted)",
                f"{operator_gets:.1f} ({self.rest_gets:.1f} - {self.idle_gets:.1f})",
                "≤ 10",
                operator_gets <= 10,
            ),
            (
                f"operator CPU at rest ({self.rest.seconds:.0f} s)",
                f"{self.rest_cpu:.2f} % of a core",
                f"≤ {cpu_target:g} % @{self.scale}",
                self.rest_cpu <= cpu_target,
            ),
            (
                f"burst: {self.n} created → all Ready",
                burst,
                "≤ 1.3 x floor",
                self.ratio is not None and self.ratio <= 1.3,
            ),
            (
                f"restart with {r.services} Ready: CR writes",
                f"{self.cr_writes:.0f}",
                "0",
                self.cr_writes == 0,
            ),
            (f"restart: {describe} calls", str(describes), "0", describes == 0),
            (
                f"restart: {lister} calls",
                str(lists),
                f"one listing pass = {self.pages} ({self.cloud.listing_text()})",
                lists <= self.pages,
            ),
            (
                "restart: time until quiet",
                f"{quiet_at:.1f} s" if quiet_ok else f"not quiet within {quiet.waited:.0f} s",
                "≤ 30 s",
                quiet_ok and quiet_at is not None and quiet_at <= 30,
            ),
            (
                f"single apply → Ready (median of {len(r.latencies)})",
                f"{self.latency:.1f} s",
                f"≤ {latency_target:g} s (deploy + 1.5 s)",
                self.latency <= latency_target,
            ),
            (
                "operator RSS, peak over the run",
                f"{run_peak:.1f} MiB",
                f"≤ {rss_target:g} MiB @{self.scale}",
                run_peak <= rss_target,
            ),
            ("operator RSS over the soak", soak_text, "flat (growth ≤ 5 %)", soak_ok),
            *soak_rows,
            (
                "cloud services at the end",
                end.text() if end else "not counted",
                f"one per {self.cloud.kind}",
                end.ok if end else None,
            ),
            (
                "cloud calls per minute at rest",
                f"{per_minute(len(self.rest.calls), self.rest.seconds):.2f}",
                "—",
                None,
            ),
        ]
        return [
            "## Summary against the targets",
            "",
            "| figure | measured | target | |",
            "|---|---|---|---|",
            *(f"| {a} | {b} | {c} | {verdict(d)} |" for a, b, c, d in rows),
            "",
        ]

    def floor(self) -> list[str]:
        args, r, n = self.args, self.results, self.n
        metadata, statuses = self.cloud.floor_writes("x")
        requests = n * (1 + len(metadata) + len(statuses))
        latencies = r.latencies
        return [
            "## Floor: a bare client, no operator",
            "",
            f"- {n} creates + per service {self.cloud.floor_text} "
            f"= {requests} requests in {r.floor_create:.1f} s "
            f"({requests / r.floor_create:.0f}/s) on {THREADS} threads",
            f"- floor = max(create time {r.floor_create:.1f} s, N/qps {n / args.qps:.1f} s) + "
            f"deploy {args.deploy_seconds:g} s = {r.floor:.1f} s",
            f"- removing them again (finalizers off, one DELETECOLLECTION): "
            f"{r.floor_cleanup:.1f} s",
            "",
            "## Single apply → Ready (operator warm)",
            "",
            f"- samples (s): {', '.join(f'{x:.2f}' for x in latencies)}; median "
            f"{self.latency:.2f} s, min {min(latencies):.2f} s, max {max(latencies):.2f} s",
            "",
        ]

    def bursts(self) -> list[str]:
        r, n, burst = self.results, self.n, self.burst
        done = (
            f"all Ready {r.burst:.1f} s after the first create"
            if r.burst is not None
            else f"{r.burst_ready} Ready within {r.burst_limit:.0f} s"
        )
        isvc_writes = total(burst.requests, lambda k: k.verb in WRITE_VERBS and k.group == GROUP)
        return [
            "## Burst",
            "",
            f"- {n} created on {THREADS} threads in {r.burst_submit:.1f} s; {done}",
            f"- operator CPU during the burst: {cpu_percent(burst.samples):.0f} % of a core; "
            f"reconciles: {dict(r.burst_reconciles) or 'not exported'}",
            f"- API-server writes per service: {isvc_writes / n:.2f} on {self.cloud.kind}s (the "
            f"benchmark's create included), {total(burst.requests, is_cr_write) / n:.2f} with "
            "Events",
            "",
            "The operator's own timings during the burst (its /metrics):",
            "",
            *timing_lines(r.burst_timings),
            "",
            "Cloud calls during the burst:",
            "",
            *calls_table(burst.calls, None),
            "",
            "Timeline of the burst (where the time goes):",
            "",
            *burst_timeline(burst.calls, r.burst_wall, r.burst_ready_after, self.cloud),
            "",
            *self.capacity(),
            "API-server requests during the burst:",
            "",
            *requests_table(burst, self.idle),
            "",
        ]

    def capacity(self) -> list[str]:
        """Where the cloud checks a capacity before each create (Fabric): what those checks
        cost in the burst."""
        cloud, n, burst = self.cloud, self.n, self.burst
        if cloud.capacity is None:
            return []

        cost = capacity_cost(burst.calls, cloud)
        if not cost.deploys:
            return ["Capacity checks in the burst: none seen.", ""]
        samples = len(self.results.latencies)
        alone = by_operation(self.results.latency_calls)
        single = ", ".join(f"{op} {count / samples:.1f}" for op, count in sorted(alone.items()))
        calls = len(burst.calls)
        return [
            f"## Capacity checks in the burst (before each {cloud.create})",
            "",
            f"- {cost.checks} {cloud.capacity} for {cost.deploys} {cloud.create} "
            f"({cost.checks / max(1, cost.deploys):.2f} per deploy: an endpoint, as read, is "
            "kept for a while); the instances on the endpoint and their max come from the "
            "observer's listing and what the operator sent or last read, not a listing per "
            "check",
            f"- {cloud.lister} in the burst: {cost.lister} (the observer's listings of the "
            "workspace)",
            f"- {cloud.describe} in the burst: {cost.describes} ({cost.describes / n:.2f} per "
            "instance): the observer's polls of changing instances, whose answers give the "
            "address the listing lacks",
            f"- for comparison, a single apply alone (the {samples} latency samples, one at a "
            f"time on their own endpoint), calls per sample: {single or 'none'}",
            f"- every cloud call of the burst: {calls} ({calls / n:.1f} per instance); at the "
            f"ProviderConfig's {self.args.qps:g} qps they take at least "
            f"{calls / self.args.qps:.0f} s",
            "",
        ]

    def at_rest(self) -> list[str]:
        args, r, rest = self.args, self.results, self.rest
        settled = f"after settling for {self.settle.waited:.0f} s" + (
            "" if self.settle.reached else ", not quiet by then"
        )
        lines = [
            f"## At rest ({rest.seconds:.0f} s, {settled})",
            "",
            f"- API-server GETs per minute: {self.rest_gets:.1f}; the API server alone "
            f"({self.idle.seconds:.0f} s idle window before the operator started): "
            f"{self.idle_gets:.1f}",
            f"- operator CPU {self.rest_cpu:.2f} % of a core; RSS mean {mean_rss(rest.samples):.1f}"
            f" MiB, max {peak_rss(rest.samples):.1f} MiB",
            f"- reconciles at rest: {dict(r.rest_reconciles) or 'none or not exported'}",
            "",
            "Cloud calls at rest:",
            "",
            *calls_table(rest.calls, rest.seconds),
            "",
            "API-server requests at rest:",
            "",
            *requests_table(rest, self.idle),
            "",
        ]
        if args.stable * 0.8 > rest.seconds:
            lines += [
                f"(The window is shorter than the stable poll interval ({args.stable} s ±20%): "
                "a stable-interval listing may fall outside it.)",
                "",
            ]
        return lines

    def soak(self) -> list[str]:
        soak = self.results.soak
        if soak is None:
            return []
        early, late = thirds(soak.samples)
        return [
            f"## Soak ({soak.seconds / 60:.1f} min at rest)",
            "",
            f"- RSS mean of first third {mean_rss(early):.1f} MiB, of last third "
            f"{mean_rss(late):.1f} MiB; CPU {cpu_percent(soak.samples):.2f} % of a core "
            f"(first third {cpu_percent(early):.2f} %, last third {cpu_percent(late):.2f} %)",
            f"- API-server GETs per minute {per_minute(gets(soak), soak.seconds):.1f}; cloud "
            f"calls per minute {per_minute(len(soak.calls), soak.seconds):.2f}",
            "",
        ]

    def restarted(self) -> list[str]:
        r, quiet, restart = self.results, self.quiet, self.restart
        last = (
            f"last write or cloud call {quiet.last_activity:.1f} s after start"
            if quiet.last_activity is not None
            else "no write or cloud call at all"
        )
        listed = (
            f"{self.cloud.kind}s and the account listed by {quiet.first_listing:.1f} s"
            if quiet.first_listing is not None
            else f"{self.cloud.kind}s never listed"
        )
        unquiet = "" if quiet.reached else f"; not quiet within {quiet.waited:.0f} s"
        end = r.cloud_end
        counted = (
            f"{end.text()}; by status {dict(end.statuses)}" if end is not None else "not counted"
        )
        return [
            f"## Restart with {r.services} Ready",
            "",
            f"- SIGTERM → exit took {r.stop_seconds:.1f} s",
            f"- quiet (no writes, no cloud calls for {RESTART_QUIET_SECONDS:g} s): {last}; "
            f"{listed}{unquiet}",
            f"- CR writes: {self.cr_writes:.0f}; GETs: {gets(restart):.0f} over "
            f"{restart.seconds:.0f} s; reconciles: "
            f"{dict(r.restart_reconciles) or 'none or not exported'}; peak RSS "
            f"{peak_rss(r.restart_samples):.1f} MiB, CPU {cpu_percent(r.restart_samples):.0f} % "
            "of a core until quiet",
            f"- cloud services at the end (the emulator's admin listing): {counted}",
            "",
            "Cloud calls after the restart:",
            "",
            *calls_table(restart.calls, None),
            "",
            "API-server requests from the start until quiet:",
            "",
            *requests_table(restart, self.idle),
            "",
        ]

    def over_time(self) -> list[str]:
        r = self.results
        return [
            "## Operator RSS and CPU over the run (first process)",
            "",
            *timeline(r.run_samples, r.run_started),
            "",
            "## Wall time per phase",
            "",
            "| phase | seconds | load average (1 min) at its end |",
            "|---|---:|---:|",
            *(
                f"| {name} | {seconds:.0f} | {r.phase_loads.get(name, float('nan')):.2f} |"
                for name, seconds in r.phases.items()
            ),
            "",
        ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--cloud",
        choices=sorted(CLOUDS),
        default=EAS.key,
        help="eas: PAI-EAS (default); modelarts: Huawei ModelArts (InferenceServices); "
        "fabric: Huawei DataArts Fabric (ServiceInstances)",
    )
    parser.add_argument(
        "--services", type=int, default=1000, help="resources (services) in the burst"
    )
    parser.add_argument("--qps", type=float, default=50.0, help="ProviderConfig rateLimit.qps")
    parser.add_argument("--deploy-seconds", type=float, default=5.0, help="emulator deploy time")
    parser.add_argument("--transitional", type=int, default=5, help="poll interval, seconds")
    parser.add_argument("--stable", type=int, default=300, help="poll interval, seconds")
    parser.add_argument("--rest-seconds", type=float, default=120.0, help="window at rest")
    parser.add_argument(
        "--soak-minutes", type=float, default=0.0, help="keep sampling at rest (0: no soak)"
    )
    parser.add_argument("--latency-samples", type=int, default=5)
    parser.add_argument(
        "--burst-limit",
        type=float,
        default=0.0,
        help="seconds the burst may take to be all Ready (default: max(300, 3 x floor))",
    )
    parser.add_argument(
        "--operator-arg",
        action="append",
        default=[],
        help="extra argument for `cloudinfer run` (repeatable), e.g. --operator-arg=--workers=32",
    )
    parser.add_argument(
        "--output",
        help="default: bench/results/scale-<N>.md (eas), modelarts-<N>.md (modelarts), "
        "fabric-<N>.md (fabric)",
    )
    parser.add_argument("--keep", action="store_true", help="keep logs and control-plane data")
    args = parser.parse_args()
    cloud = CLOUDS[args.cloud]
    default_output = ROOT / "bench" / "results" / f"{cloud.results_prefix}-{args.services}.md"
    output = Path(args.output or default_output)
    command = f'make bench-scale BENCH_ARGS="{shlex.join(sys.argv[1:])}"'

    state = Path(tempfile.mkdtemp(prefix="cloudinfer-scale-"))
    try:
        results = run(args, cloud, state)
    except BaseException:
        say(f"failed; the operator's and the emulator's logs are in {state}")
        raise
    text = Report(results, cloud, command).markdown()
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    print(text)
    if args.keep:
        say(f"logs kept in {state}")
    else:
        shutil.rmtree(state, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
