"""The Helm chart without a cluster: `helm lint` with the values schema (good and bad
values), the helm-unittest suites in charts/cloudinfer/tests, and facts that must not drift
(the chart's RBAC follows its CRDs; every value in values.yaml is documented)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from cloudinfer.controlplane.binaries import ensure_tools

ROOT = Path(__file__).resolve().parents[3]
CHART = ROOT / "charts" / "cloudinfer"


def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ensure_tools().helm), *args],
        capture_output=True,
        text=True,
        check=check,
        timeout=120,
    )


def render(*args: str, release: str = "ci") -> list[dict[str, Any]]:
    out = helm("template", release, str(CHART), "--namespace", "cloudinfer-system", *args).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def test_lint_passes_with_the_default_values() -> None:
    result = helm("lint", "--strict", str(CHART), check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("values", "error"),
    [
        (["--set", "replicaCount=-1"], "at '/replicaCount': minimum"),
        (["--set", "operator.logFormat=xml"], "at '/operator/logFormat'"),
        (["--set", "metrics.port=70000"], "at '/metrics/port': maximum"),
        (["--set", "installScope=everywhere"], "at '/installScope'"),
        (["--set", "image.digest=latest"], "at '/image/digest'"),
        (["--set", "watchNamespaces={Team_A}"], "at '/watchNamespaces/0'"),
        (["--set", "operator.workers=0"], "at '/operator/workers'"),
        (["--set", "bogus=1"], "additional properties 'bogus' not allowed"),
        (["--set", "metrics.serviceMonitor.interval=often"], "interval"),
    ],
)
def test_lint_refuses_bad_values_naming_the_field(values: list[str], error: str) -> None:
    result = helm("lint", str(CHART), *values, check=False)
    assert result.returncode != 0
    assert error in result.stdout + result.stderr


@pytest.mark.parametrize(
    "values",
    [
        ["--set-string", "podAnnotations.prometheus\\.io/scrape=true"],
        ["--set-json", 'resources={"limits":{"cpu":"2","example.com/gpu":"1"}}'],
        ["--set-json", 'tolerations=[{"key":"dedicated","operator":"Exists"}]'],
        ["--set-json", "podSecurityContext=null"],
        ["--set-json", 'affinity={"podAntiAffinity":{}}'],
    ],
)
def test_lint_accepts_pass_through_kubernetes_objects(values: list[str]) -> None:
    result = helm("lint", str(CHART), *values, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_helm_unittest_suites_pass() -> None:
    suites = sorted(p.name for p in (CHART / "tests").glob("*_test.yaml"))
    assert suites, "no suites found"
    result = subprocess.run(
        [str(ensure_tools().helm_unittest), "--strict", str(CHART)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Its summary is not pytest's: check that every suite ran and passed.
    assert f"Test Suites: {len(suites)} passed, {len(suites)} total" in result.stdout, result.stdout


def test_rbac_covers_exactly_the_chart_crds() -> None:
    crds = [yaml.safe_load(p.read_text()) for p in sorted((CHART / "crds").glob("*.yaml"))]
    role = next(
        d
        for d in render()
        if d["kind"] == "ClusterRole" and d["metadata"]["name"] == "ci-cloudinfer"
    )
    granted = {
        r
        for rule in role["rules"]
        for r in rule["resources"]
        if "cloudinfer.io" in rule["apiGroups"]
    }
    plurals = {c["spec"]["names"]["plural"] for c in crds}
    assert granted == plurals | {f"{p}/status" for p in plurals}
    named = next(rule for rule in role["rules"] if rule.get("resourceNames"))
    assert sorted(named["resourceNames"]) == sorted(c["metadata"]["name"] for c in crds)


def test_namespace_scope_grants_nothing_namespaced_cluster_wide() -> None:
    docs = render("--set", "installScope=namespace", "--set", "watchNamespaces={team-a}")
    cluster_rules = [
        rule
        for d in docs
        if d["kind"] == "ClusterRole" and d["metadata"]["name"] == "ci-cloudinfer"
        for rule in d["rules"]
    ]
    namespaced = {"secrets", "events", "inferenceservices", "providerconfigs"}
    assert not namespaced & {r for rule in cluster_rules for r in rule["resources"]}
    roles = {d["metadata"]["namespace"] for d in docs if d["kind"] == "Role"}
    assert roles == {"team-a", "cloudinfer-system"}


def test_every_value_is_in_the_schema() -> None:
    """Every key of values.yaml is described by the schema down to where the schema opens
    (a map of strings, a pass-through Kubernetes object)."""
    schema = json.loads((CHART / "values.schema.json").read_text())
    values = yaml.safe_load((CHART / "values.yaml").read_text())

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = schema["definitions"][node["$ref"].split("/")[-1]]
        return node

    def walk(value: Any, node: dict[str, Any], path: str) -> None:
        node = resolve(node)
        if not isinstance(value, dict) or "properties" not in node:
            return
        for key, sub in value.items():
            assert key in node["properties"], f"{path}{key}: not in values.schema.json"
            walk(sub, node["properties"][key], f"{path}{key}.")

    walk(values, schema, "")


def test_the_readme_values_table_is_generated_from_values_yaml() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("values_table", ROOT / "hack" / "values_table.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    readme = (ROOT / "README.md").read_text()
    assert module.readme_block(readme) == module.table(), (
        "run `python hack/values_table.py --write`"
    )
