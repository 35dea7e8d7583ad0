"""The checked-in CRDs are exactly what the models generate, and are useful to `kubectl explain`."""

from pathlib import Path
from typing import Any

import pytest

from cloudinfer.api import ALL_KINDS
from cloudinfer.api.crds import crd, files

ROOT = Path(__file__).resolve().parents[2]
# One generator, two copies: the repository's (kubectl, kustomize) and the Helm chart's.
CRD_DIRS = ["crds", "charts/cloudinfer/crds"]


@pytest.mark.parametrize("where", CRD_DIRS)
def test_crds_directory_is_up_to_date(where: str) -> None:
    on_disk = {p.name: p.read_text() for p in (ROOT / where).glob("*.yaml")}
    generated = files()
    assert sorted(on_disk) == sorted(generated), "run `make crds`"
    for name, text in generated.items():
        assert on_disk[name] == text, f"{where}/{name} is stale: run `make crds`"


def _walk(schema: dict[str, Any], path: str) -> list[tuple[str, dict[str, Any]]]:
    found = [(path, schema)]
    for name, sub in schema.get("properties", {}).items():
        found += _walk(sub, f"{path}.{name}")
    if "items" in schema:
        found += _walk(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        found += _walk(schema["additionalProperties"], f"{path}{{}}")
    return found


@pytest.mark.parametrize("info", ALL_KINDS, ids=lambda i: i.kind)
def test_every_field_has_a_description_and_no_json_schema_leftovers(info: Any) -> None:
    root = crd(info)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for path, node in _walk(root["properties"]["spec"], "spec") + _walk(
        root["properties"]["status"], "status"
    ):
        if not path.endswith("{}"):  # map values are described by their map
            assert node.get("description"), f"{info.kind} {path} has no description"
        assert not {"$ref", "anyOf", "oneOf", "allOf", "title", "$defs"} & node.keys(), path
        if "exclusiveMinimum" in node:
            assert node["exclusiveMinimum"] is True and "minimum" in node, path


@pytest.mark.parametrize("info", ALL_KINDS, ids=lambda i: i.kind)
def test_names_and_columns(info: Any) -> None:
    doc = crd(info)
    names = doc["spec"]["names"]
    assert "isvc" not in names.get("shortNames", [])  # KServe's
    assert "cloudinfer" in names["categories"]
    version = doc["spec"]["versions"][0]
    assert version["subresources"] == {"status": {}}
    columns = {c["name"] for c in version["additionalPrinterColumns"]}
    assert {"Ready", "Age"} <= columns


def test_short_names_are_unique() -> None:
    seen: list[str] = [s for info in ALL_KINDS for s in info.short_names]
    assert len(seen) == len(set(seen))
