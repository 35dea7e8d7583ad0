"""`cloudinfer` command line: run | crds | emulator | control-plane | dev."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from cloudinfer import __version__

if TYPE_CHECKING:
    from cloudinfer.handlers.options import RunOptions


def run_options(args: argparse.Namespace) -> RunOptions:
    from cloudinfer.handlers.options import RunOptions, in_a_pod

    return RunOptions(
        kubeconfig=args.kubeconfig,
        namespaces=args.namespace or [],
        operator_namespace=args.operator_namespace or RunOptions().operator_namespace,
        leader_election=args.leader_election if args.leader_election is not None else in_a_pod(),
        leader_election_lease=args.leader_election_lease or RunOptions().leader_election_lease,
        liveness=args.liveness,
        metrics_port=args.metrics_port,
        log_format=args.log_format,
        verbose=args.verbose,
        debug=args.debug,
        workers=args.workers,
        resync_seconds=args.resync_seconds,
        manage_crds=args.manage_crds,
    )


def _cmd_run(args: argparse.Namespace) -> int:
    from cloudinfer.runner import run_operator

    return run_operator(run_options(args))


def _cmd_crds(args: argparse.Namespace) -> int:
    from cloudinfer.api import crds

    if args.output_dir:
        out = Path(args.output_dir)
        out.mkdir(parents=True, exist_ok=True)
        for name, text in crds.files().items():
            (out / name).write_text(text)
            print(f"wrote {out / name}", file=sys.stderr)
    else:
        sys.stdout.write(crds.render_all())
    return 0


def _cmd_control_plane(args: argparse.Namespace) -> int:
    from cloudinfer.controlplane import ensure_binaries

    if args.action == "tools":
        from cloudinfer.controlplane.binaries import ensure_tools

        tools = ensure_tools()
        print(f"helm={tools.helm}")
        print(f"helm-unittest={tools.helm_unittest}")
        print(f"actionlint={tools.actionlint}")
        return 0
    binaries = ensure_binaries()
    if args.action == "binaries":
        print(f"etcd={binaries.etcd}")
        print(f"kube-apiserver={binaries.kube_apiserver}")
        return 0
    from cloudinfer.dev import serve_control_plane

    return serve_control_plane(Path(args.dir), binaries)


def _cmd_emulator(args: argparse.Namespace) -> int:
    from cloudinfer.emulator.app import DEV_ACCESS_KEY, EmulatorConfig, parse_access_key, run
    from cloudinfer.emulator.config import (
        parse_fabric_endpoint,
        parse_iam_token,
        parse_vias_algorithm,
    )
    from cloudinfer.emulator.eas.service import Timing
    from cloudinfer.emulator.faults import FaultRule

    try:
        keys = [parse_access_key(k) for k in args.access_key] or [DEV_ACCESS_KEY]
        faults = [FaultRule.parse(f) for f in args.fault]
        iam_tokens = dict(parse_iam_token(t) for t in args.iam_token)
        fabric_endpoints = [parse_fabric_endpoint(e) for e in args.fabric_endpoint]
        vias_algorithms = [parse_vias_algorithm(a) for a in args.vias_algorithm]
    except ValueError as exc:
        print(f"cloudinfer emulator: {exc}", file=sys.stderr)
        return 2
    timing = Timing(
        deploy_seconds=args.deploy_seconds,
        update_seconds=args.update_seconds,
        stop_seconds=args.stop_seconds,
        delete_seconds=args.delete_seconds,
    )
    config = EmulatorConfig(
        host=args.host,
        port=args.port,
        region=args.region,
        access_keys=keys,
        iam_tokens=iam_tokens,
        timing=timing,
        state_dir=Path(args.state_dir) if args.state_dir else None,
        faults=faults,
        admin_token=args.admin_token,
        fabric_endpoints=fabric_endpoints,
        vias_algorithms=vias_algorithms,
    )
    print(
        f"cloudinfer emulator listening on http://{args.host}:{args.port} "
        f"(region {args.region}, {len(keys)} access key(s))",
        file=sys.stderr,
        flush=True,
    )
    run(config)
    return 0


def _cmd_dev(args: argparse.Namespace) -> int:
    from cloudinfer.dev import run_dev_stack

    return run_dev_stack(
        Path(args.dir),
        examples=Path(args.examples),
        emulator_port=args.emulator_port,
        deploy_seconds=args.deploy_seconds,
    )


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _at_least_a_minute(text: str) -> float:
    value = float(text)
    if value < 60:
        raise argparse.ArgumentTypeError(f"must be at least 60 seconds, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cloudinfer", description=__doc__)
    parser.add_argument("--version", action="version", version=f"cloudinfer {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the operator against a cluster")
    run.add_argument(
        "--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)"
    )
    run.add_argument(
        "-n",
        "--namespace",
        action="append",
        help="watch only this namespace (repeatable; glob patterns allowed); default: all",
    )
    run.add_argument(
        "--operator-namespace",
        help="namespace of ClusterProviderConfig Secrets "
        "(default: $CLOUDINFER_NAMESPACE, $POD_NAMESPACE, cloudinfer-system)",
    )
    run.add_argument(
        "--leader-election",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="act only while holding a Lease in the operator namespace, so replicas take over "
        "from one another (default: on in a pod, i.e. when $KUBERNETES_SERVICE_HOST is set)",
    )
    run.add_argument(
        "--leader-election-lease",
        metavar="NAME",
        help="name of that Lease (default cloudinfer-leader)",
    )
    run.add_argument(
        "--liveness", metavar="URL", help="serve a liveness probe, e.g. http://0.0.0.0:8080/healthz"
    )
    run.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="serve Prometheus metrics on http://0.0.0.0:PORT/metrics (default: off)",
    )
    run.add_argument(
        "--workers",
        type=_positive_int,
        default=16,
        help="concurrent reconciles; at most half of them act on one cloud account (default 16)",
    )
    run.add_argument(
        "--resync-seconds",
        type=_at_least_a_minute,
        default=3600.0,
        help="look at every resource again this often, jittered ±20%% (default 3600); cloud "
        "changes and edits are seen at once regardless",
    )
    run.add_argument(
        "--manage-crds",
        action="store_true",
        help="at start, server-side apply this version's CRDs over the installed ones "
        "(`helm upgrade` leaves a chart's CRDs as they were); needs `patch` on them",
    )
    run.add_argument("--log-format", choices=["plain", "full", "json"], default="plain")
    run.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    run.add_argument(
        "--debug", action="store_true", help="log at DEBUG level, including kopf internals"
    )
    run.set_defaults(func=_cmd_run)

    crd = sub.add_parser("crds", help="print the CRDs generated from the models")
    crd.add_argument("--output-dir", help="write one file per CRD into this directory instead")
    crd.set_defaults(func=_cmd_crds)

    cp = sub.add_parser("control-plane", help="obtain or run a local etcd + kube-apiserver")
    cp.add_argument(
        "action",
        choices=["binaries", "tools", "up"],
        help="binaries: build/locate etcd and kube-apiserver and print their paths; tools: the "
        "same for helm, helm-unittest and actionlint (the shipping tests); up: run until "
        "interrupted",
    )
    cp.add_argument("--dir", default=".dev", help="where `up` writes kubeconfig and logs")
    cp.set_defaults(func=_cmd_control_plane)

    emu = sub.add_parser("emulator", help="run the local cloud API emulator")
    emu.add_argument("--host", default="127.0.0.1")
    emu.add_argument("--port", type=int, default=18080)
    emu.add_argument(
        "--region", default="cn-shanghai", help="region of requests whose Host does not name one"
    )
    emu.add_argument(
        "--access-key",
        action="append",
        default=[],
        metavar="ID:SECRET[:TOKEN[:ACCOUNT]]",
        help="accepted credentials (repeatable); default dev-access-key-id:dev-access-key-secret",
    )
    emu.add_argument(
        "--iam-token",
        action="append",
        default=[],
        metavar="TOKEN[:ACCOUNT]",
        help="an IAM token the Huawei APIs accept as X-Auth-Token (repeatable); none by default",
    )
    emu.add_argument(
        "--fabric-endpoint",
        action="append",
        default=[],
        metavar="ID:SPEC:MAX[:WORKSPACE[:ACCOUNT]]",
        help="a DataArts Fabric inference endpoint of MAX units of SPEC (repeatable), e.g. "
        "ep-1:mu.llama3.8b:8; WORKSPACE defaults to 'default', ACCOUNT to the default account",
    )
    emu.add_argument(
        "--vias-algorithm",
        action="append",
        default=[],
        metavar="ID:NAME[:PROJECT[:ACCOUNT]]",
        help="a VIAS algorithm the account has (repeatable), e.g. 'alg-1:Intrusion Detection'; "
        "without PROJECT it is offered in every project, ACCOUNT defaults to the default account",
    )
    emu.add_argument(
        "--deploy-seconds",
        type=float,
        default=5.0,
        help="create/clone/start until every instance runs",
    )
    emu.add_argument("--update-seconds", type=float, default=3.0)
    emu.add_argument("--stop-seconds", type=float, default=2.0)
    emu.add_argument("--delete-seconds", type=float, default=2.0)
    emu.add_argument("--state-dir", help="persist services here so a restart keeps them")
    emu.add_argument(
        "--admin-token",
        help="require 'Authorization: Bearer TOKEN' on /_emulator, from any peer; without "
        "a token the admin API is served to loopback peers only",
    )
    emu.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="kind=...,operation=...",
        help="inject a fault (repeatable), e.g. kind=error,operation=CreateService,"
        "rate=0.2,status=503,code=ServiceUnavailable",
    )
    emu.set_defaults(func=_cmd_emulator)

    dev = sub.add_parser("dev", help="local stack: control plane, CRDs, operator, examples")
    dev.add_argument("--dir", default=".dev", help="state directory (kubeconfig, logs)")
    dev.add_argument("--examples", default="deploy/examples", help="manifests to apply")
    dev.add_argument(
        "--emulator-port",
        type=int,
        default=18080,
        help="port of the cloud emulator (the examples point at 18080)",
    )
    dev.add_argument(
        "--deploy-seconds",
        type=float,
        default=5.0,
        help="how long the emulator takes to bring a service up",
    )
    dev.set_defaults(func=_cmd_dev)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result
