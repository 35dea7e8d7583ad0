"""The Argo CD health checks of deploy/argocd: every case of every health_test.yaml, run as
argocd-cm runs it (no string/math library) and as Argo CD's test harness does (open
libraries); the argocd-cm snippet built from the same files; the Application examples."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from tests.argocd_health import (
    CUSTOMIZATIONS,
    GROUP,
    KINDS,
    ROOT,
    VALID_STATUSES,
    Health,
    cases,
    evaluate,
    load_yaml,
    script,
)

ARGOCD = ROOT / "deploy" / "argocd"
# The kinds whose status is cloudinfer's ManagedStatus: one health script between them.
MANAGED_KINDS = ("InferenceService", "ServiceInstance", "AlgorithmService")
ALL_CASES = [
    pytest.param(kind, path, expected, id=f"{kind}/{path.stem}")
    for kind in KINDS
    for path, expected in cases(kind)
]


@pytest.mark.parametrize("open_libs", [False, True], ids=["argocd-cm-sandbox", "open-libs"])
@pytest.mark.parametrize(("kind", "path", "expected"), ALL_CASES)
def test_health(kind: str, path: Path, expected: Health, open_libs: bool) -> None:
    health = evaluate(script(kind), load_yaml(path), open_libs=open_libs)
    assert health.status in VALID_STATUSES
    assert health == expected


@pytest.mark.parametrize("kind", KINDS)
def test_testdata_are_all_used_and_real_objects(kind: str) -> None:
    folder = CUSTOMIZATIONS / GROUP / kind
    used = {path for path, _ in cases(kind)}
    assert used == set((folder / "testdata").glob("*.yaml")), "unused or missing testdata"
    for path in used:
        obj = load_yaml(path)
        assert (obj["apiVersion"], obj["kind"]) == (f"{GROUP}/v1alpha1", kind), path
        meta = obj["metadata"]
        assert "managedFields" not in meta and meta["uid"], path
        # As Argo CD sees them: timestamps are strings, not datetimes.
        assert isinstance(meta["creationTimestamp"], str), path


@pytest.mark.parametrize("kind", KINDS)
def test_statuses_covered(kind: str) -> None:
    """Each script's answers are all exercised by real objects."""
    seen = {expected.status for _, expected in cases(kind)}
    wanted = {"Healthy", "Progressing", "Degraded"}
    if kind in MANAGED_KINDS:
        wanted.add("Suspended")  # paused (and a kind with spec.stopped stopped as asked)
    assert wanted <= seen


@pytest.mark.parametrize("kind", KINDS)
def test_scripts_keep_to_the_sandbox(kind: str) -> None:
    """No string/math library and no map iteration, whose order Argo CD randomises. Runtime
    failures show in test_health too; this names the construct before a case reaches it."""
    code = "\n".join(line.split("--", 1)[0] for line in script(kind).splitlines())
    for forbidden in (r"\bstring\.", r"\bmath\.", r"(?<!i)\bpairs\(", r":\w+\("):
        assert not re.search(forbidden, code), f"{kind}/health.lua uses {forbidden}"


def test_provider_configs_share_one_script() -> None:
    assert script("ProviderConfig") == script("ClusterProviderConfig")


def test_managed_kinds_share_one_script() -> None:
    """One script for every kind with cloudinfer's managed status (Argo CD wants a file per
    kind): a fix to one cannot miss another. ServiceInstance has no spec.stopped, which only
    the stopped branch (InferenceService, AlgorithmService) reads (nil there: never taken);
    phases Degraded and Finished are AlgorithmService's (VIAS) only."""
    first, *others = MANAGED_KINDS
    for kind in others:
        assert script(kind) == script(first), f"{kind}/health.lua differs from {first}'s"


SANDBOX_PROBES = [
    'return {status = "Healthy", message = string.format("%d", 1)}',
    'return {status = "Healthy", message = ("x"):upper()}',
    'return {status = "Healthy", message = tostring(math.floor(1.5))}',
    'return {status = "Healthy", message = require("string").upper("x")}',
]


@pytest.mark.parametrize("source", SANDBOX_PROBES)
def test_the_sandbox_is_argocd_cms(source: str) -> None:
    """What the harness takes away really is gone, and only in the sandbox."""
    assert evaluate(source, {}, open_libs=True).status == "Healthy"
    with pytest.raises(Exception, match=r"attempt to index|not found"):
        evaluate(source, {}, open_libs=False)


def test_objects_arrive_as_argo_cd_hands_them_over() -> None:
    """Numbers are floats (a whole one prints without decimals in Lua 5.1), null is absent,
    lists are 1-based arrays, os.time/os.date stay."""
    source = """
      return {status = "Healthy", message = tostring(obj.n) .. "," .. tostring(obj.none)
        .. "," .. obj.list[1] .. "," .. #obj.list .. "," .. type(os.time()) .. type(os.date())}
    """
    obj = {"n": 2, "none": None, "list": ["a", "b"]}
    for open_libs in (False, True):
        assert evaluate(source, obj, open_libs=open_libs).message == "2,nil,a,2,numberstring"


# -- the argocd-cm snippet ---------------------------------------------------------------------


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("argocd_cm", ROOT / "hack" / "argocd_cm.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_argocd_cm_is_generated_from_the_scripts() -> None:
    assert _generator().main(["--check"]) == 0, "run: python hack/argocd_cm.py"
    config_map = yaml.safe_load((ARGOCD / "argocd-cm.yaml").read_text())
    assert (config_map["kind"], config_map["metadata"]["name"]) == ("ConfigMap", "argocd-cm")
    assert config_map["data"] == {
        f"resource.customizations.health.{GROUP}_{kind}": script(kind) for kind in KINDS
    }


# -- the Application examples ------------------------------------------------------------------


def _application(name: str) -> dict[str, Any]:
    app: dict[str, Any] = yaml.safe_load((ARGOCD / name).read_text())
    assert (app["apiVersion"], app["kind"]) == ("argoproj.io/v1alpha1", "Application")
    # Server-side apply: CRDs never hit the 256 KiB last-applied annotation limit, and fields
    # the operator owns are not fought over.
    assert "ServerSideApply=true" in app["spec"]["syncPolicy"]["syncOptions"]
    assert app["spec"]["source"]["repoURL"].endswith(".git")
    return app


def test_helm_application() -> None:
    source = _application("application-helm.yaml")["spec"]["source"]
    assert source["path"] == "charts/cloudinfer"
    assert (ROOT / source["path"] / "Chart.yaml").exists()
    # The values given must be the chart's own.
    values = yaml.safe_load((ROOT / source["path"] / "values.yaml").read_text())
    for key, value in source["helm"].get("valuesObject", {}).items():
        assert key in values and isinstance(value, type(values[key])), key


def test_kustomize_application() -> None:
    source = _application("application-kustomize.yaml")["spec"]["source"]
    assert source["path"] == "config/default"
    assert (ROOT / source["path"] / "kustomization.yaml").exists()


def test_provider_config_kinds_share_one_script() -> None:
    """Argo CD wants one file per kind; the two provider config kinds are one script, kept
    identical here so a fix to one cannot miss the other."""
    base = ROOT / "deploy" / "argocd" / "resource_customizations" / "cloudinfer.io"
    namespaced = (base / "ProviderConfig" / "health.lua").read_text()
    assert (base / "ClusterProviderConfig" / "health.lua").read_text() == namespaced
