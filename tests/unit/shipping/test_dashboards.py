"""The Grafana dashboard and the PrometheusRule alerts of the chart, checked against the
operator's real metrics without Prometheus or a cluster: every metric an expression names is
exported by the operator (its registry, read in-process), every label an expression selects
or groups by is one of that metric's labels (or a target label Prometheus adds), and the
expressions are well-formed as far as a small PromQL tokenizer can tell (balanced brackets,
known functions, label lists after by/on, matchers inside selectors)."""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY
from prometheus_client.metrics import MetricWrapperBase

from cloudinfer.clouds.errors import ErrorTable

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "operator" / "cloudinfer"
CHART = ROOT / "charts" / "cloudinfer"
DASHBOARD = CHART / "dashboards" / "cloudinfer.json"
RULES = CHART / "templates" / "prometheusrule.yaml"
CONFIGMAP = CHART / "templates" / "dashboards-configmap.yaml"

DASHBOARD_UID = "cloudinfer-operator"  # Grafana links and bookmarks use it: never change it
# Well below the 256 KiB of kubectl's last-applied annotation (and the 1 MiB ConfigMap).
MAX_DASHBOARD_BYTES = 128 * 1024

# Labels Prometheus attaches to every scraped series (kube-prometheus ServiceMonitor).
TARGET_LABELS = frozenset(
    {"job", "instance", "namespace", "pod", "service", "container", "endpoint"}
)
GRAFANA_BUILTINS = frozenset({"__rate_interval", "__range", "__interval", "__interval_ms", "__all"})

AGGREGATIONS = frozenset(
    {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values"}
    | {"bottomk", "topk", "quantile"}
)
FUNCTIONS = AGGREGATIONS | frozenset(
    {
        *("abs", "absent", "absent_over_time", "avg_over_time", "ceil", "changes", "clamp"),
        *("clamp_max", "clamp_min", "count_over_time", "delta", "deriv", "exp", "floor"),
        *("histogram_quantile", "idelta", "increase", "irate", "label_join", "label_replace"),
        *("last_over_time", "ln", "log2", "log10", "max_over_time", "min_over_time"),
        *("predict_linear", "quantile_over_time", "rate", "resets", "round", "scalar", "sgn"),
        *("sort", "sort_desc", "sqrt", "sum_over_time", "time", "timestamp", "vector"),
    }
)
GROUPING = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset"}) | GROUPING

# The PrometheusRule template's actions inside expressions, with a value each to check the
# expression with. An action not listed here fails the test (add it, with a sample value).
RULE_ACTIONS = {
    "$sel": 'namespace="cloudinfer"',
    ".window": "10m",
    ".threshold": "0.05",
    ".codes": "Throttling.*|APIGW.0308|APIG.0308|429",
    ".ignoredCodes": "OK|InvalidService.NotFound",
}
# Every alert the template defines, with its key under metrics.prometheusRule.rules.
ALERTS = {
    "operatorDown": "CloudinferOperatorDown",
    "noLeader": "CloudinferNoLeader",
    "multipleLeaders": "CloudinferMultipleLeaders",
    "reconcileErrors": "CloudinferReconcileErrors",
    "cloudErrors": "CloudinferCloudErrors",
    "cloudThrottling": "CloudinferCloudThrottling",
    "workqueueBacklog": "CloudinferWorkqueueBacklog",
    "eventsDropped": "CloudinferEventsDropped",
}


# -- the operator's metrics ---------------------------------------------------------------


def metric_modules() -> list[str]:
    """The operator's modules that define metrics (the emulator's are not the operator's)."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent)
        if "emulator" in rel.parts:
            continue
        text = path.read_text()
        if "prometheus_client" in text and re.search(
            r"\b(Counter|Gauge|Histogram|Summary)\(", text
        ):
            names.append(".".join(rel.with_suffix("").parts))
    return names


@dataclass
class Catalog:
    """Exported series name → the labels it may carry (its own, not the target's)."""

    series: dict[str, frozenset[str]] = field(default_factory=dict)
    families: set[str] = field(default_factory=set)  # the operator's own metric families

    def labels(self, name: str) -> frozenset[str]:
        return self.series[name] | TARGET_LABELS


SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("", "_sum", "_count"),
}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    wrappers: dict[str, MetricWrapperBase] = {}
    for name in metric_modules():
        module = importlib.import_module(name)
        for value in vars(module).values():
            if isinstance(value, MetricWrapperBase):
                wrappers[value._name] = value
    assert wrappers, "found no metrics in the operator's modules"
    cat = Catalog()
    for family in REGISTRY.collect():
        if family.name in wrappers:
            # A labelled metric exports no sample before its first use, so its label names
            # come from the metric object itself.
            own = wrappers[family.name]._labelnames
            assert isinstance(own, tuple), "prometheus_client keeps label names elsewhere now"
            cat.families.add(family.name)
            for suffix in SUFFIXES[family.type]:
                extra = {"le"} if suffix == "_bucket" else set()
                extra |= {"quantile"} if family.type == "summary" and not suffix else set()
                cat.series[family.name + suffix] = frozenset(own) | extra
        else:  # process_*, python_*: collected with their samples
            for sample in family.samples:
                labels = cat.series.get(sample.name, frozenset())
                cat.series[sample.name] = labels | frozenset(sample.labels)
    missing = set(wrappers) - cat.families
    assert not missing, f"defined but not in the registry: {missing}"
    return cat


def test_catalog_reads_the_operators_metrics(catalog: Catalog) -> None:
    assert catalog.series["cloudinfer_reconciles_total"] == {"outcome"}
    assert catalog.series["cloudinfer_cloud_requests_total"] == {"cloud", "operation", "code"}
    assert "le" in catalog.series["cloudinfer_cloud_request_duration_seconds_bucket"]
    assert "le" not in catalog.series["cloudinfer_cloud_request_duration_seconds_count"]
    assert catalog.series["cloudinfer_leader"] == frozenset()
    assert "process_resident_memory_bytes" in catalog.series


# -- a small PromQL reader ----------------------------------------------------------------

TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
      | (?P<range>\[[^\[\]]*\])
      | (?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)
      | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
      | (?P<op>==|!=|=~|!~|>=|<=|[-+*/%^<>=(){},])
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Tok:
    kind: str
    text: str


@dataclass
class Selector:
    metric: str
    labels: list[str]
    at: int  # token index


@dataclass
class Parsed:
    selectors: list[Selector]
    grouping: list[tuple[str, list[str], int, int]]  # keyword, labels, scope start, end


def tokenize(expr: str) -> list[Tok]:
    tokens, pos = [], 0
    expr = expr.rstrip()
    while pos < len(expr):
        m = TOKEN.match(expr, pos)
        assert m and m.end() > pos, f"cannot read {expr[pos : pos + 30]!r} in {expr!r}"
        kind = m.lastgroup
        assert kind is not None
        tokens.append(Tok(kind, m.group(kind)))
        pos = m.end()
    return tokens


def matching(tokens: list[Tok], open_at: int) -> int:
    """Index of the parenthesis closing the one at `open_at`."""
    depth = 0
    for i in range(open_at, len(tokens)):
        if tokens[i].text == "(":
            depth += 1
        elif tokens[i].text == ")":
            depth -= 1
            if depth == 0:
                return i
    raise AssertionError("unbalanced parentheses")


def opening(tokens: list[Tok], close_at: int) -> int:
    depth = 0
    for i in range(close_at, -1, -1):
        if tokens[i].text == ")":
            depth += 1
        elif tokens[i].text == "(":
            depth -= 1
            if depth == 0:
                return i
    raise AssertionError("unbalanced parentheses")


def parse(expr: str) -> Parsed:
    tokens = tokenize(expr)
    depth = 0
    for tok in tokens:
        depth += {"(": 1, ")": -1}.get(tok.text, 0) if tok.kind == "op" else 0
        assert depth >= 0, f"')' without '(' in {expr!r}"
    assert depth == 0, f"unbalanced parentheses in {expr!r}"
    selectors: list[Selector] = []
    grouping: list[tuple[str, list[str], int, int]] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if tok.kind == "op" and tok.text == "{":
            raise AssertionError(f"a selector without a metric name in {expr!r}")
        if tok.kind != "ident":
            i += 1
            continue
        if tok.text in GROUPING:
            if tok.text in ("group_left", "group_right") and (nxt is None or nxt.text != "("):
                i += 1
                continue
            assert nxt is not None and nxt.text == "(", f"{tok.text} without labels: {expr!r}"
            close = matching(tokens, i + 1)
            inner = tokens[i + 2 : close]
            labels = [t.text for t in inner if t.text != ","]
            assert all(t.kind == "ident" for t in inner if t.text != ","), (
                f"{tok.text} ({' '.join(t.text for t in inner)}) in {expr!r}"
            )
            if tok.text in ("by", "without"):
                # `agg by (l) (arg)` or `agg (arg) by (l)`
                if i > 0 and tokens[i - 1].text in AGGREGATIONS:
                    start = close + 1
                    assert tokens[start].text == "(", f"{tok.text} without argument: {expr!r}"
                    scope = (start, matching(tokens, start))
                else:
                    assert tokens[i - 1].text == ")", f"{tok.text} out of place in {expr!r}"
                    begin = opening(tokens, i - 1)
                    assert tokens[begin - 1].text in AGGREGATIONS, f"{tok.text} in {expr!r}"
                    scope = (begin, i - 1)
            else:  # on/ignoring/group_*: both sides of the operator
                scope = (0, len(tokens))
            grouping.append((tok.text, labels, *scope))
            i = close + 1
            continue
        if tok.text in AGGREGATIONS and nxt is not None and nxt.text in ("by", "without"):
            i += 1
            continue
        if nxt is not None and nxt.text == "(":
            assert tok.text in FUNCTIONS, f"unknown function {tok.text} in {expr!r}"
            i += 1
            continue
        if tok.text in KEYWORDS:
            i += 1
            continue
        labels = []
        j = i + 1
        if nxt is not None and nxt.text == "{":
            j = i + 2
            while tokens[j].text != "}":
                name, op, value = tokens[j : j + 3]
                assert name.kind == "ident", f"label name expected, got {name.text}: {expr!r}"
                assert op.text in ("=", "!=", "=~", "!~"), f"matcher {op.text} in {expr!r}"
                assert value.kind == "string", f"label value {value.text} in {expr!r}"
                labels.append(name.text)
                j += 3
                if tokens[j].text == ",":
                    j += 1
            j += 1
        selectors.append(Selector(tok.text, labels, i))
        i = j
    return Parsed(selectors, grouping)


def check_expr(expr: str, catalog: Catalog) -> None:
    parsed = parse(expr)
    assert parsed.selectors, f"no metric in {expr!r}"
    for sel in parsed.selectors:
        assert sel.metric in catalog.series, f"{sel.metric} is not exported: {expr!r}"
        unknown = set(sel.labels) - catalog.labels(sel.metric)
        assert not unknown, f"{sel.metric} has no label {unknown}: {expr!r}"
    for keyword, labels, start, end in parsed.grouping:
        inside = [s for s in parsed.selectors if start <= s.at <= end]
        assert inside, f"{keyword} ({labels}) applies to no metric: {expr!r}"
        for sel in inside:
            unknown = set(labels) - catalog.labels(sel.metric)
            assert not unknown, f"{keyword}: {sel.metric} has no label {unknown}: {expr!r}"


def metric_names(expr: str) -> set[str]:
    return {s.metric for s in parse(expr).selectors}


@pytest.mark.parametrize(
    ("expr", "error"),
    [
        ("sum(rate(cloudinfer_workqueue_depths[5m]))", "not exported"),
        ('cloudinfer_reconciles_total{outcom="error"}', "no label"),
        ("sum by (code) (rate(cloudinfer_reconciles_total[5m]))", "no label"),
        ("sum(rate(cloudinfer_reconciles_total[5m])) by (cloud)", "no label"),
        ("sum by (le) (rate(cloudinfer_reconcile_duration_seconds_sum[5m]))", "no label"),
        ("sum(rate(cloudinfer_reconciles_total[5m])", "unbalanced"),
        ("summ(rate(cloudinfer_reconciles_total[5m]))", "unknown function"),
        ("sum by (outcome (rate(cloudinfer_reconciles_total[5m]))", "by"),
        ("cloudinfer_reconciles_total{outcome=error}", "label value"),
        ('{__name__="cloudinfer_leader"}', "without a metric name"),
    ],
)
def test_the_checker_catches(expr: str, error: str, catalog: Catalog) -> None:
    with pytest.raises(AssertionError, match=error):
        check_expr(expr, catalog)


def test_the_checker_accepts(catalog: Catalog) -> None:
    check_expr(
        "histogram_quantile(0.9, sum by (le, cloud) (rate("
        'cloudinfer_cloud_request_duration_seconds_bucket{job=~"$job"}[$__rate_interval])))',
        catalog,
    )
    check_expr(
        'process_open_fds{job="x"} and on (job, instance) cloudinfer_leader{namespace="y"}',
        catalog,
    )
    check_expr("sum(rate(cloudinfer_reconciles_total[5m])) by (outcome) > 0.5e-1", catalog)


# -- the dashboard ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def all_panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])  # inside collapsed rows


def exprs(dashboard: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in all_panels(dashboard) for t in p.get("targets", [])]


def test_dashboard_is_small_enough() -> None:
    assert DASHBOARD.stat().st_size < MAX_DASHBOARD_BYTES


def test_dashboard_identity(dashboard: dict[str, Any]) -> None:
    assert dashboard["uid"] == DASHBOARD_UID
    assert dashboard["id"] is None  # Grafana assigns it; a fixed one clashes across instances
    assert dashboard["title"]


def test_panel_ids_are_unique_and_panels_fit_the_grid(dashboard: dict[str, Any]) -> None:
    ids = [p["id"] for p in all_panels(dashboard)]
    assert len(ids) == len(set(ids)), ids
    for panel in all_panels(dashboard):
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, panel["title"]
    cells: dict[tuple[int, int], str] = {}
    for panel in dashboard["panels"]:
        pos = panel["gridPos"]
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]


def test_every_query_uses_the_templated_datasource(dashboard: dict[str, Any]) -> None:
    names = [v["name"] for v in dashboard["templating"]["list"]]
    datasource = dashboard["templating"]["list"][names.index("datasource")]
    assert datasource["type"] == "datasource" and datasource["query"] == "prometheus"
    for panel in all_panels(dashboard):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]
    for var in dashboard["templating"]["list"]:
        if var["type"] == "query":
            assert var["datasource"]["uid"] == "${datasource}", var["name"]


def test_every_variable_used_is_defined(dashboard: dict[str, Any]) -> None:
    defined = {v["name"] for v in dashboard["templating"]["list"]} | GRAFANA_BUILTINS
    text = json.dumps(dashboard)
    used = set(re.findall(r"\$\{?(\w+)", text))
    assert used <= defined, used - defined


def test_dashboard_queries_use_real_metrics_and_labels(
    dashboard: dict[str, Any], catalog: Catalog
) -> None:
    queries = exprs(dashboard)
    assert len(queries) > 20
    for expr in queries:
        check_expr(expr, catalog)
    for var in dashboard["templating"]["list"]:
        if var["type"] == "query":
            m = re.fullmatch(r"label_values\((.+), (\w+)\)", var["query"]["query"])
            assert m, var["name"]
            check_expr(m.group(1), catalog)
            assert m.group(2) in catalog.labels(metric_names(m.group(1)).pop())


def test_dashboard_shows_every_operator_metric(dashboard: dict[str, Any], catalog: Catalog) -> None:
    """A new metric gets a panel (or this test names it)."""
    shown = set().union(*(metric_names(e) for e in exprs(dashboard)))
    families = {
        f
        for f in catalog.families
        if not any(s.startswith(f) for s in shown if s in catalog.series)
    }
    assert not families, f"no panel shows {sorted(families)}"
    for wanted in ("process_cpu_seconds_total", "process_resident_memory_bytes"):
        assert wanted in shown


def test_dashboard_configmap_template_ships_the_json_files() -> None:
    text = CONFIGMAP.read_text()
    assert '(.Files.Glob "dashboards/*.json").AsConfig' in text
    assert "{{- if $dash.enabled }}" in text
    assert DASHBOARD.parent.name == "dashboards" and DASHBOARD.suffix == ".json"


# -- the alerts ---------------------------------------------------------------------------

ACTION = re.compile(r"(\s*)\{\{(-?)\s*(.*?)\s*(-?)\}\}(\s*)")


def render_actions(text: str) -> str:
    """Go template actions → the sample values of RULE_ACTIONS, with Go's `{{-`/`-}}`
    whitespace trimming."""

    def value(m: re.Match[str]) -> str:
        before, trim_left, action, trim_right, after = m.groups()
        assert action in RULE_ACTIONS, f"unknown action {{{{ {action} }}}} in an expression"
        return ("" if trim_left else before) + RULE_ACTIONS[action] + ("" if trim_right else after)

    return ACTION.sub(value, text)


def rule_exprs() -> dict[str, str]:
    """alert name → its expression with the template's actions filled in."""
    lines = RULES.read_text().splitlines()
    found: dict[str, str] = {}
    alert = None
    for n, line in enumerate(lines):
        m = re.match(r"\s*- alert: (\w+)$", line)
        if m:
            alert = m.group(1)
        if line.strip() == "expr: |-":
            assert alert is not None and alert not in found, f"line {n + 1}"
            indent = len(line) - len(line.lstrip()) + 2
            body = []
            for following in lines[n + 1 :]:
                if following.strip() and len(following) - len(following.lstrip()) < indent:
                    break
                body.append(following.strip())
            found[alert] = render_actions(" ".join(body))
    return found


def test_the_template_defines_the_alerts() -> None:
    exprs = rule_exprs()
    assert set(exprs) == set(ALERTS.values())
    text = RULES.read_text()
    for key in ALERTS:
        assert f"{{{{- with $rules.{key} }}}}" in text, key


def test_the_template_is_gated_on_the_value_and_the_api() -> None:
    text = RULES.read_text()
    gate = (
        "and .Values.metrics.enabled $pr.enabled "
        '(.Capabilities.APIVersions.Has "monitoring.coreos.com/v1/PrometheusRule")'
    )
    assert gate in text


@pytest.mark.parametrize("alert", sorted(ALERTS.values()))
def test_alert_expr_uses_real_metrics_and_labels(alert: str, catalog: Catalog) -> None:
    expr = rule_exprs()[alert]
    check_expr(expr, catalog)
    assert all(m.startswith("cloudinfer_") for m in metric_names(expr))
    # Every alert keeps the selector that confines it to this release's operator.
    assert expr.count(RULE_ACTIONS["$sel"]) == len(parse(expr).selectors)


def error_tables() -> list[ErrorTable]:
    """Every cloud API's error table (a new cloud's codes are checked without an edit here)."""
    tables = []
    for path in sorted((PACKAGE / "clouds").rglob("*.py")):
        module = importlib.import_module(
            ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        )
        tables += [v for v in vars(module).values() if isinstance(v, ErrorTable)]
    assert tables
    return list({id(t): t for t in tables}.values())


def samples(patterns: tuple[str, ...]) -> list[str]:
    """A code each pattern matches (`X*` matches by prefix)."""
    return [p[:-1] + ".Sample" if p.endswith("*") else p for p in patterns]


def test_throttled_codes_match_the_clouds_throttling_codes(dashboard: dict[str, Any]) -> None:
    """The throttling regex (the alert's default and the dashboard's) covers every code an
    error table classes as throttled, and 429 (a throttling answer without a code)."""
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["throttled_codes"]["query"] == RULE_ACTIONS[".codes"]
    regex = re.compile(RULE_ACTIONS[".codes"])
    for table in error_tables():
        for code in samples(table.throttled):
            assert regex.fullmatch(code), code
    assert regex.fullmatch("429")
    assert not regex.fullmatch("OK")


def chart_values() -> dict[str, Any]:
    return yaml.safe_load((CHART / "values.yaml").read_text()) or {}


def test_values_hold_every_setting_the_templates_read() -> None:
    values = chart_values()
    rule = values.get("metrics", {}).get("prometheusRule")
    if rule is None or "dashboards" not in values:
        pytest.skip("values.yaml has no metrics.prometheusRule / dashboards block yet")
    assert rule["enabled"] is False and values["dashboards"]["enabled"] is False
    assert values["dashboards"]["labels"] == {"grafana_dashboard": "1"}
    text = RULES.read_text()
    for key in ALERTS:
        settings = rule["rules"][key]
        body = re.split(
            r"\{\{- with \$(?:rules\.\w+|pr\.extraRules) \}\}",
            text.split(f"{{{{- with $rules.{key} }}}}", 1)[1],
        )[0]
        used = set(re.findall(r"\{\{-?\s*\.(\w+)", body))
        assert used <= set(settings), (key, used - set(settings))
        assert {"enabled", "for", "severity", "labels"} <= set(settings), key
        assert settings["severity"] in ("critical", "warning", "info"), key
    throttled = rule["rules"]["cloudThrottling"]["codes"]
    ignored = rule["rules"]["cloudErrors"]["ignoredCodes"]
    assert throttled == RULE_ACTIONS[".codes"]  # what the throttling test above checked
    for regex in (throttled, ignored):
        re.compile(regex)
        assert "`" not in regex  # it goes into a PromQL raw string
    assert re.fullmatch(ignored, "OK")
    assert all(re.fullmatch(ignored, code) for code in ("Throttling.User", "429"))
    # The answers the reconciler expects in normal work are not errors.
    for table in error_tables():
        for code in samples(table.not_found + table.conflict + table.busy + table.throttled):
            assert re.fullmatch(ignored, code), code
    for code in ("transport", "500", "InvalidAccessKeyId.NotFound", "Forbidden.RAM"):
        assert not re.fullmatch(ignored, code), code
