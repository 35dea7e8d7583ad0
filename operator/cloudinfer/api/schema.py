"""Turn a pydantic model's JSON Schema into a Kubernetes structural OpenAPI v3 schema.

Kubernetes accepts a subset of JSON Schema: no `$ref`, no `null` type, boolean
`exclusiveMinimum`, no `additionalProperties: false` beside `properties`. This module resolves
and rewrites pydantic's output into that subset, keeping descriptions, bounds, enums, defaults
and `x-kubernetes-*` extensions."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

# Keys Kubernetes' JSONSchemaProps understands and we carry over unchanged.
_PASSTHROUGH = {
    "type",
    "description",
    "default",
    "enum",
    "format",
    "pattern",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "uniqueItems",
    "nullable",
    "example",
}
_K8S_FORMATS = {
    "int32",
    "int64",
    "float",
    "double",
    "byte",
    "date",
    "date-time",
    "duration",
    "password",
    "uri",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "cidr",
    "mac",
    "uuid",
}


def model_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The structural schema of `model` as it appears on the wire (camelCase aliases)."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    defs = raw.pop("$defs", {})
    return _convert(raw, defs)


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """Inline a `$ref`; keys beside the ref (a field's own description) win over the target's."""
    if "$ref" not in node:
        return node
    target = dict(defs[node["$ref"].split("/")[-1]])
    overlay = {k: v for k, v in node.items() if k != "$ref"}
    return _resolve({**target, **overlay}, defs)


def _strip_null(node: dict[str, Any]) -> dict[str, Any]:
    """`X | None` becomes plain X: absence, not null, means "unset" in Kubernetes objects."""
    for key in ("anyOf", "oneOf"):
        options = node.get(key)
        if not options:
            continue
        non_null = [o for o in options if o.get("type") != "null"]
        if len(non_null) == 1:
            merged = {k: v for k, v in node.items() if k != key}
            inner = dict(non_null[0])
            # The outer node holds the field's description/default; the inner one its type.
            return {**inner, **merged}
    return node


def _convert(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    node = _strip_null(_resolve(node, defs))
    node = _strip_null(_resolve(node, defs))
    if "anyOf" in node or "oneOf" in node or "allOf" in node:
        raise ValueError(f"unions cannot be expressed in a structural schema: {node}")

    out: dict[str, Any] = {}
    for key, value in node.items():
        if key.startswith("x-kubernetes-"):
            out[key] = value
        elif key == "description":
            out[key] = " ".join(value.split())
        elif key in _PASSTHROUGH:
            out[key] = value
        elif key == "const":
            out["enum"] = [value]
        elif key == "exclusiveMinimum":
            out["minimum"], out["exclusiveMinimum"] = value, True
        elif key == "exclusiveMaximum":
            out["maximum"], out["exclusiveMaximum"] = value, True

    if "enum" in node and "type" not in out:
        out["type"] = _type_of(node["enum"][0])
    if out.get("format") not in _K8S_FORMATS:
        out.pop("format", None)
    if "default" in out and out["default"] is None:
        del out["default"]

    if node.get("type") == "object" or "properties" in node:
        out["type"] = "object"
        props = node.get("properties", {})
        if props:
            out["properties"] = {name: _convert(p, defs) for name, p in props.items()}
            required = [r for r in node.get("required", []) if r in props]
            if required:
                out["required"] = required
        extra = node.get("additionalProperties")
        if not props and (extra is True or extra == {}):
            out["x-kubernetes-preserve-unknown-fields"] = True
        elif not props and isinstance(extra, dict):
            out["additionalProperties"] = _convert(extra, defs)
    elif node.get("type") == "array":
        out["items"] = _convert(node.get("items", {}), defs)
    if out.get("type") is None and not out.get("x-kubernetes-preserve-unknown-fields"):
        # `Any`: accept any JSON value and keep it.
        out["x-kubernetes-preserve-unknown-fields"] = True
    return out


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string"
