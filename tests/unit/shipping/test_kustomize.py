"""The kustomize install (config/): each overlay builds, uses the one generated set of CRDs,
rewrites the ServiceAccount subjects, and grants exactly what the Helm chart grants."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from cloudinfer.api.crds import all_crds, files
from tests.unit.shipping.test_chart import render

ROOT = Path(__file__).resolve().parents[3]
OVERLAYS = ["config/default", "config/overlays/namespaced", "config/overlays/dev"]


def build(path: str) -> list[dict[str, Any]]:
    out = subprocess.run(
        ["kubectl", "kustomize", str(ROOT / path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def rules(docs: list[dict[str, Any]], kind: str) -> set[tuple[str, ...]]:
    """Rules as comparable rows: (group, resource, resourceName or '', verb)."""
    rows = set()
    for doc in docs:
        if doc["kind"] != kind:
            continue
        for rule in doc["rules"]:
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    for name in rule.get("resourceNames") or [""]:
                        rows |= {(group, resource, name, verb) for verb in rule["verbs"]}
    return rows


def test_the_crds_base_lists_exactly_the_generated_files() -> None:
    listed = yaml.safe_load((ROOT / "crds" / "Kustomization").read_text())["resources"]
    assert sorted(listed) == sorted(files())


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_overlay_builds_with_the_generated_crds(overlay: str) -> None:
    docs = build(overlay)
    got = [d for d in docs if d["kind"] == "CustomResourceDefinition"]
    # (kustomize's label `app.kubernetes.io/part-of: cloudinfer` is the generator's too)
    by_name = {d["metadata"]["name"]: d for d in got}
    assert by_name == {d["metadata"]["name"]: d for d in all_crds()}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_binding_subjects_name_the_rewritten_service_account(overlay: str) -> None:
    docs = build(overlay)
    accounts = [d for d in docs if d["kind"] == "ServiceAccount"]
    assert [(a["metadata"]["name"], a["metadata"]["namespace"]) for a in accounts] == [
        ("cloudinfer-controller", "cloudinfer-system")
    ]
    bindings = [d for d in docs if d["kind"] in ("ClusterRoleBinding", "RoleBinding")]
    assert bindings
    for binding in bindings:
        assert binding["subjects"] == [
            {
                "kind": "ServiceAccount",
                "name": "cloudinfer-controller",
                "namespace": "cloudinfer-system",
            }
        ], binding["metadata"]["name"]
    deployment = next(
        d for d in docs if d["kind"] == "Deployment" and "controller" in d["metadata"]["name"]
    )
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == "cloudinfer-controller"


def test_the_cluster_install_grants_what_the_chart_grants() -> None:
    # Release "cloudinfer": the names kustomize's prefix gives (the Lease is cloudinfer-leader).
    names = (
        "cloudinfer",
        "cloudinfer-leader-election",
        "cloudinfer-manager",
        "cloudinfer-manager-cluster",
    )
    chart = [d for d in render(release="cloudinfer") if d["metadata"]["name"] in names]
    kustomize = [d for d in build("config/default") if d["metadata"]["name"] in names]
    assert rules(kustomize, "ClusterRole") == rules(chart, "ClusterRole")
    assert rules(kustomize, "Role") == rules(chart, "Role")


def test_the_user_roles_match_the_chart() -> None:
    chart = {d["metadata"]["name"]: d for d in render(release="cloudinfer")}
    ours = {d["metadata"]["name"]: d for d in build("config/default")}
    for name in ("cloudinfer-view", "cloudinfer-edit"):
        assert rules([ours[name]], "ClusterRole") == rules([chart[name]], "ClusterRole"), name
        aggregation = {k for k in ours[name]["metadata"]["labels"] if "aggregate-to" in k}
        assert aggregation == {k for k in chart[name]["metadata"]["labels"] if "aggregate-to" in k}


def test_the_namespaced_overlay_grants_nothing_namespaced_cluster_wide() -> None:
    docs = build("config/overlays/namespaced")
    # The operator's ClusterRoles (the user-facing view/edit roles are for people).
    operator_roles = [d for d in docs if d["metadata"]["name"].startswith("cloudinfer-manager")]
    cluster_wide = {row[1] for row in rules(operator_roles, "ClusterRole")}
    assert not cluster_wide & {"secrets", "events", "inferenceservices", "providerconfigs"}
    roles = {
        (d["metadata"]["namespace"], d["metadata"]["name"]) for d in docs if d["kind"] == "Role"
    }
    assert ("team-a", "cloudinfer-manager") in roles
    assert ("cloudinfer-system", "cloudinfer-manager") in roles
    by_namespace = {
        ns: rules(
            [
                d
                for d in docs
                if d["kind"] == "Role"
                and d["metadata"]["namespace"] == ns
                and d["metadata"]["name"] == "cloudinfer-manager"
            ],
            "Role",
        )
        for ns in ("team-a", "cloudinfer-system")
    }
    base = [d for d in build("config/default") if d["metadata"]["name"] == "cloudinfer-manager"]
    assert by_namespace["team-a"] == by_namespace["cloudinfer-system"]
    assert by_namespace["team-a"] == rules(base, "ClusterRole")
    args = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"][
        "containers"
    ][0]["args"]
    assert "--namespace=team-a" in args and "--namespace=cloudinfer-system" in args


def test_the_manager_pod_matches_the_chart_pod() -> None:
    chart = next(d for d in render() if d["kind"] == "Deployment")["spec"]["template"]["spec"]
    ours = next(d for d in build("config/default") if d["kind"] == "Deployment")["spec"][
        "template"
    ]["spec"]
    assert ours["securityContext"] == chart["securityContext"]
    theirs_c, ours_c = chart["containers"][0], ours["containers"][0]
    for key in (
        "securityContext",
        "env",
        "livenessProbe",
        "readinessProbe",
        "resources",
        "volumeMounts",
    ):
        assert ours_c[key] == theirs_c[key], key
    chart_args = {a.split("=")[0] for a in theirs_c["args"]} - {
        "--workers",
        "--resync-seconds",
        "--operator-namespace",
        "--leader-election-lease",
    }
    assert {a.split("=")[0] for a in ours_c["args"]} == chart_args


def test_the_argocd_kustomize_application_turns_manage_crds_off(tmp_path: Path) -> None:
    """Its patch (a JSON test + remove of one argument) applied to config/default, as Argo
    CD's kustomize would."""
    app = yaml.safe_load((ROOT / "deploy" / "argocd" / "application-kustomize.yaml").read_text())
    source = app["spec"]["source"]
    overlay = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [os.path.relpath(ROOT / source["path"], tmp_path)],
        "patches": source["kustomize"]["patches"],
    }
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump(overlay))
    out = subprocess.run(
        ["kubectl", "kustomize", "--load-restrictor=LoadRestrictionsNone", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    deployment = next(d for d in yaml.safe_load_all(out) if d and d["kind"] == "Deployment")
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--manage-crds" not in args
    assert "--leader-election" in args
