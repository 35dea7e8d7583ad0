"""Benchmark: InferenceService on PAI-EAS against the emulator.

Measures, on a real kube-apiserver with the operator as a separate process:
  1. apply → Ready latency of single services (operator warm, emulator deploy time 5 s);
  2. cloud API calls per minute while N services are Ready and nothing changes;
  3. operator RSS over the whole run (sampled), to spot growth.

Writes a Markdown report to bench/results/ that names the command that produced it.
Run with `make bench` (about 6 minutes on 2 cores)."""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import kubernetes

from cloudinfer.controlplane import ControlPlane
from cloudinfer.controlplane.kubectl import apply_objects as apply
from cloudinfer.controlplane.kubectl import install_crds
from cloudinfer.controlplane.local import free_port
from cloudinfer.dev import start_emulator, start_operator, stop_process

ROOT = Path(__file__).resolve().parents[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class RssSampler(threading.Thread):
    def __init__(self, pid: int, every: float = 5.0) -> None:
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.samples: list[tuple[float, float]] = []
        self.stopped = threading.Event()
        self.started_at = time.monotonic()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                self.samples.append((time.monotonic() - self.started_at, rss_mb(self.pid)))
            except OSError:
                return
            self.stopped.wait(self.every)


def isvc(name: str, instances: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": "cloudinfer.io/v1alpha1",
        "kind": "InferenceService",
        "metadata": {"name": name, "namespace": "bench"},
        "spec": {
            "providerConfigRef": {"name": "emulator"},
            "eas": {
                "processor": "tensorflow_cpu",
                "instances": instances,
                "cpu": 1,
                "memory": 1000,
            },
        },
    }


def ready_names(custom: Any) -> set[str]:
    items = custom.list_namespaced_custom_object(
        "cloudinfer.io", "v1alpha1", "bench", "inferenceservices"
    )["items"]
    return {
        i["metadata"]["name"]
        for i in items
        if any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in (i.get("status") or {}).get("conditions", [])
        )
    }


def wait_ready(custom: Any, names: set[str], within: float) -> float:
    started = time.monotonic()
    while not names <= ready_names(custom):
        if time.monotonic() - started > within:
            raise TimeoutError(f"not Ready within {within}s: {sorted(names - ready_names(custom))}")
        time.sleep(0.1)
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=50)
    parser.add_argument("--latency-samples", type=int, default=5)
    parser.add_argument("--rest-seconds", type=float, default=180.0)
    parser.add_argument("--transitional", type=int, default=5)
    parser.add_argument("--stable", type=int, default=60)
    parser.add_argument("--deploy-seconds", type=float, default=5.0)
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "eas.md"))
    parser.add_argument("--keep", action="store_true", help="keep the logs' temporary directory")
    args = parser.parse_args()
    command = "make bench  # python bench/eas_bench.py " + " ".join(sys.argv[1:])

    state = Path(tempfile.mkdtemp(prefix="cloudinfer-bench-"))
    port = free_port()
    with ControlPlane() as cp:
        kc = cp.kubeconfig
        install_crds(kc, "cloudinfer-system")
        emulator = start_emulator(state, port, f"--deploy-seconds={args.deploy_seconds}")
        admin = f"http://127.0.0.1:{port}/_emulator"
        operator = start_operator(kc, state / "operator.log")
        sampler = RssSampler(operator.pid)
        sampler.start()
        api = kubernetes.config.new_client_from_config(config_file=str(kc))
        custom = kubernetes.client.CustomObjectsApi(api)
        try:
            apply(
                kc,
                [
                    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}},
                    {
                        "apiVersion": "v1",
                        "kind": "Secret",
                        "metadata": {"name": "creds", "namespace": "bench"},
                        "stringData": {
                            "accessKeyId": "dev-access-key-id",
                            "accessKeySecret": "dev-access-key-secret",
                        },
                    },
                    {
                        "apiVersion": "cloudinfer.io/v1alpha1",
                        "kind": "ProviderConfig",
                        "metadata": {"name": "emulator", "namespace": "bench"},
                        "spec": {
                            "cloud": "alibaba-eas",
                            "region": "cn-shanghai",
                            "endpoint": f"http://127.0.0.1:{port}",
                            "credentialsSecretRef": {"name": "creds"},
                            "pollIntervals": {
                                "transitionalSeconds": args.transitional,
                                "stableSeconds": args.stable,
                            },
                        },
                    },
                ],
            )
            # 1. apply → Ready, one service at a time, operator warm.
            latencies = []
            for i in range(args.latency_samples):
                started = time.monotonic()
                apply(kc, [isvc(f"latency-{i}", instances=2)])
                wait_ready(custom, {f"latency-{i}"}, 120)
                latencies.append(time.monotonic() - started)

            # 2. N services Ready, then a quiet window.
            names = {f"rest-{i}" for i in range(args.services)}
            started = time.monotonic()
            apply(kc, [isvc(n) for n in sorted(names)])
            bulk_ready = wait_ready(custom, names, 600)
            settle_until = time.monotonic() + 2 * args.transitional + 1
            while time.monotonic() < settle_until:  # let the fast polling wind down
                time.sleep(0.5)
            httpx.delete(f"{admin}/calls", timeout=10)
            window_start = time.monotonic()
            time.sleep(args.rest_seconds)  # the measurement window itself
            window = time.monotonic() - window_start
            calls = httpx.get(f"{admin}/calls", timeout=10).json()
            by_op = Counter(c["operation"] for c in calls)
            total_services = args.services + args.latency_samples
        finally:
            sampler.stopped.set()
            stop_process(operator)
            stop_process(emulator)

    rss = sampler.samples
    first, peak, last = rss[0][1], max(r for _, r in rss), rss[-1][1]
    third = max(1, len(rss) // 3)
    early = statistics.mean(r for _, r in rss[:third])
    late = statistics.mean(r for _, r in rss[-third:])
    per_minute = {op: n * 60 / window for op, n in sorted(by_op.items())}
    lines = [
        "# PAI-EAS benchmark: latency, calls at rest, operator memory",
        "",
        f"- command: `{command}`",
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}; "
        f"machine: {platform.machine()}, {os.cpu_count()} cores; "
        f"Python {platform.python_version()}",
        f"- emulator deploy time {args.deploy_seconds:g} s; ProviderConfig poll intervals "
        f"transitional {args.transitional} s, stable {args.stable} s (jittered ±20%)",
        "",
        "## apply → Ready (one service, 2 instances, operator warm)",
        "",
        f"- samples: {len(latencies)}; mean {statistics.mean(latencies):.1f} s; "
        f"min {min(latencies):.1f} s; max {max(latencies):.1f} s",
        f"- expected: deploy time + up to one transitional interval "
        f"({args.deploy_seconds:g} to {args.deploy_seconds + args.transitional:g} s) plus a little",
        "",
        f"## {total_services} services Ready, at rest for {window:.0f} s",
        "",
        f"- {args.services} services went from apply to all Ready in {bulk_ready:.1f} s",
        f"- cloud calls in the window: {len(calls)} = {len(calls) * 60 / window:.2f} per minute",
    ]
    lines += [f"  - {op}: {n} ({per_minute[op]:.2f}/min)" for op, n in sorted(by_op.items())]
    lines += [
        f"- one ListServices page holds 100 services, so this is one call per stable interval; "
        f"per-resource polling would be {total_services} DescribeService calls per interval "
        f"({total_services * 60 / args.stable:.0f}/min at this interval)",
        "",
        f"## operator RSS ({len(rss)} samples every {sampler.every:g} s over {rss[-1][0]:.0f} s)",
        "",
        f"- first {first:.1f} MB, peak {peak:.1f} MB, last {last:.1f} MB; "
        f"mean of first third {early:.1f} MB, of last third {late:.1f} MB",
        "- samples (s, MB): "
        + ", ".join(f"{t:.0f}:{r:.1f}" for t, r in rss[:: max(1, len(rss) // 20)]),
        "",
    ]
    Path(args.output).write_text("\n".join(lines))
    if args.keep:
        lines.append(f"(logs kept in {state})")
    else:
        shutil.rmtree(state, ignore_errors=True)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
