"""The Grafana dashboard, checked without Grafana (none can be installed here): its
structure, and its queries with Grafana's variables filled in as Grafana would."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.ops.conftest import MONITORING

DASHBOARD = MONITORING / "grafana" / "dashboards" / "codecrafter.json"
# What Grafana substitutes at query time, for running the queries elsewhere.
VARIABLES = {"$__rate_interval": "1m", "$instance": ".*", "${datasource}": "prometheus"}


def load(path: Path = DASHBOARD) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return list(dashboard["panels"])


def queries(dashboard: dict[str, Any]) -> list[str]:
    """Every panel's PromQL, with Grafana's variables filled in."""
    found = []
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            found.append(fill(target["expr"]))
    return found


def fill(expr: str) -> str:
    for name, value in VARIABLES.items():
        expr = expr.replace(name, value)
    return expr


def structural_problems(dashboard: dict[str, Any]) -> list[str]:
    """What Grafana would reject or draw wrongly: duplicate ids, panels overlapping or off
    the 24-column grid, a panel not on the datasource variable, a target without a query."""
    problems = []
    ids = [panel["id"] for panel in panels(dashboard)]
    if len(ids) != len(set(ids)):
        problems.append(f"duplicate panel ids: {ids}")
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    if variables.get("datasource", {}).get("type") != "datasource":
        problems.append("no datasource variable")
    problems += _grid_problems(panels(dashboard))
    for panel in panels(dashboard):
        problems += _panel_problems(panel)
    return problems


def _panel_problems(panel: dict[str, Any]) -> list[str]:
    if panel["type"] == "row":
        return []
    problems = []
    if panel.get("datasource", {}).get("uid") != "${datasource}":
        problems.append(f"panel {panel['id']} is not on the datasource variable")
    targets = panel.get("targets", [])
    if not targets or any(not t.get("expr") or not t.get("refId") for t in targets):
        problems.append(f"panel {panel['id']} has a target without expr or refId")
    return problems


def _grid_problems(all_panels: list[dict[str, Any]]) -> list[str]:
    cells: dict[tuple[int, int], int] = {}
    problems = []
    for panel in all_panels:
        pos = panel["gridPos"]
        if pos["x"] < 0 or pos["w"] <= 0 or pos["x"] + pos["w"] > 24 or pos["h"] <= 0:
            problems.append(f"panel {panel['id']} is off the grid: {pos}")
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                if (x, y) in cells:
                    problems.append(f"panels {cells[(x, y)]} and {panel['id']} overlap")
                cells[(x, y)] = panel["id"]
    return sorted(set(problems))
