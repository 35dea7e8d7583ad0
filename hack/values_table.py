"""The README's table of Helm values, generated from charts/cloudinfer/values.yaml (its
`# --` comments, as helm-docs reads them) so the two cannot disagree:
`python hack/values_table.py --write` rewrites the block between the README's markers;
tests/unit/shipping/test_chart.py fails when it is stale."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
VALUES = ROOT / "charts" / "cloudinfer" / "values.yaml"
README = ROOT / "README.md"
BEGIN, END = "<!-- values-table: begin -->", "<!-- values-table: end -->"


def _comments(text: str) -> dict[str, str]:
    """Key path → its `# --` comment (continued on the following `#` lines)."""
    found: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    pending: list[str] = []
    collecting = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("# --"):
            pending, collecting = [stripped[4:].strip()], True
            continue
        if stripped.startswith("#"):
            if collecting:
                pending.append(stripped[1:].strip())
            continue
        collecting = False
        match = re.match(r"^(\s*)([A-Za-z0-9_.-]+):", line)
        if not match:
            continue
        indent, key = len(match.group(1)), match.group(2)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = ".".join([k for _, k in stack] + [key])
        stack.append((indent, key))
        if pending:
            found[path] = " ".join(pending)
            pending = []
    return found


def _rows(values: dict[str, Any], comments: dict[str, str], prefix: str = "") -> list[str]:
    rows = []
    for key, value in values.items():
        path = f"{prefix}{key}"
        if path in comments or not isinstance(value, dict) or not value:
            default = json.dumps(value, separators=(", ", ": "))
            text = comments.get(path, "").replace("|", "\\|")
            rows.append(f"| `{path}` | `{default}` | {text} |")
        else:
            rows += _rows(value, comments, path + ".")
    return rows


def table() -> str:
    text = VALUES.read_text()
    rows = _rows(yaml.safe_load(text), _comments(text))
    return "\n".join(["| value | default | meaning |", "|---|---|---|", *rows])


def readme_block(readme: str) -> str:
    return readme.split(BEGIN, 1)[1].split(END, 1)[0].strip()


def main() -> int:
    readme = README.read_text()
    if "--write" in sys.argv:
        head, rest = readme.split(BEGIN, 1)
        README.write_text(f"{head}{BEGIN}\n{table()}\n{END}{rest.split(END, 1)[1]}")
        return 0
    print(table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
