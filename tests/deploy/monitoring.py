"""What the monitoring tests share: the dashboard's and the alert rules' PromQL, the metric
names an expression uses, and the names an exposition of /metrics serves."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from tests.deploy.support import ROOT

DASHBOARD = ROOT / "deploy" / "grafana" / "scansource-syncer.json"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
PROMETHEUS_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
JOB = "scansource-syncer"

# Words of PromQL that are not metric names (functions are told apart by their "("; an
# aggregation may have its `by (...)` between its name and its "(").
_KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
    "bool", "offset", "inf", "nan", "sum", "min", "max", "avg", "group", "stddev", "stdvar",
    "count", "count_values", "bottomk", "topk", "quantile",
}  # fmt: skip


def promql_names(expr: str) -> set[str]:
    """The metric names an expression selects: what is left once strings, label matchers,
    ranges, grouping label lists, functions and keywords are taken out."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"\{[^}]*\}", " ", e)
    e = re.sub(r"\[[^\]]*\]", " ", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r" \1 ", e)
    names = set()
    for m in re.finditer(r"(?<![\w$:.])([A-Za-z_:][\w:]*)\s*(\()?", e):
        if m[2] is None and m[1].lower() not in _KEYWORDS:
            names.add(m[1])
    return names


def dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text()))


def dashboard_exprs() -> list[str]:
    """Every panel's query, and the metric of each label_values() variable as a selector."""
    board = dashboard()
    exprs = [t["expr"] for p in board["panels"] for t in p.get("targets", [])]
    for var in board["templating"]["list"]:
        query = var.get("query")
        text = query.get("query", "") if isinstance(query, dict) else str(query)
        found = re.fullmatch(r"label_values\((\w+),\s*\w+\)", text)
        if found:
            exprs.append(found[1])
    return exprs


def alert_rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(ALERTS.read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def served_names(exposition: str) -> set[str]:
    """The names a query can select from this exposition: each family by its TYPE line, a
    histogram's as its _bucket, _sum and _count series."""
    names = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", exposition, flags=re.M):
        if kind in ("histogram", "summary"):
            names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
        if kind != "histogram":
            names.add(name)
    return names


def instant(expr: str) -> str:
    """A dashboard expression with Grafana's variables given values Prometheus accepts."""
    return expr.replace("$__rate_interval", "1m").replace("$account", ".*")
