"""CustomResourceDefinitions generated from the kinds' models (`cloudinfer crds`)."""

from __future__ import annotations

from typing import Any

import yaml

from cloudinfer.api.kinds import ALL_KINDS, CATEGORY, GROUP, PART_OF_LABEL, VERSION, KindInfo
from cloudinfer.api.schema import model_schema


def crd(info: KindInfo) -> dict[str, Any]:
    spec_schema = model_schema(info.spec)
    status_schema = model_schema(info.status)
    status_schema["description"] = (
        status_schema.get("description") or f"Observed state of the {info.kind}."
    )
    root = {
        "type": "object",
        "description": info.description,
        "required": ["spec"],
        "properties": {
            "apiVersion": {
                "type": "string",
                "description": "APIVersion defines the versioned schema of this representation "
                "of an object.",
            },
            "kind": {
                "type": "string",
                "description": "Kind is a string value representing the REST resource this "
                "object represents.",
            },
            "metadata": {"type": "object"},
            "spec": spec_schema,
            "status": status_schema,
        },
    }
    columns = [
        {
            "name": c.name,
            "type": c.type,
            "jsonPath": c.json_path,
            **({"description": c.description} if c.description else {}),
            **({"priority": c.priority} if c.priority else {}),
        }
        for c in info.columns
    ]
    names: dict[str, Any] = {
        "kind": info.kind,
        "listKind": f"{info.kind}List",
        "plural": info.plural,
        "singular": info.singular,
        "categories": [CATEGORY],
    }
    if info.short_names:
        names["shortNames"] = list(info.short_names)
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": info.crd_name,
            "labels": {PART_OF_LABEL: "cloudinfer"},
        },
        "spec": {
            "group": GROUP,
            "names": names,
            "scope": info.scope,
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": root},
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": columns,
                    **(
                        {"selectableFields": [{"jsonPath": p} for p in info.selectable_fields]}
                        if info.selectable_fields
                        else {}
                    ),
                }
            ],
        },
    }


def all_crds() -> list[dict[str, Any]]:
    return [crd(info) for info in ALL_KINDS]


def file_name(info: KindInfo) -> str:
    return f"{GROUP}_{info.plural}.yaml"


def render(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(doc, sort_keys=False, width=100)


def render_all() -> str:
    return "---\n".join(render(doc) for doc in all_crds())


def files() -> dict[str, str]:
    """File name → content of every CRD, as checked in under crds/."""
    return {file_name(info): render(crd(info)) for info in ALL_KINDS}
