"""monitoring/: the Prometheus configuration, the alert rules and the Grafana dashboard,
checked with the real promtool (Debian's prometheus 2.42). No Grafana runs here: the
dashboard is checked for structure, and each of its queries is parsed by promtool."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from tests.ops import dashboard
from tests.ops.conftest import MONITORING


def run(*args: str, cwd: Path = MONITORING) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


def test_prometheus_config_is_valid_with_its_rule_files(promtool: str, tmp_path: Path) -> None:
    """promtool accepts prometheus.yml, and the rule file and token file it names resolve."""
    syntax = run(promtool, "check", "config", "--syntax-only", "prometheus.yml")
    assert syntax.returncode == 0, syntax.stdout + syntax.stderr
    # Paths inside the containers, mapped onto a folder here for the full check.
    text = (MONITORING / "prometheus.yml").read_text()
    text = text.replace("/etc/prometheus/", f"{tmp_path}/").replace("/run/secrets/", f"{tmp_path}/")
    (tmp_path / "prometheus.yml").write_text(text)
    shutil.copy(MONITORING / "alerts.yml", tmp_path / "alerts.yml")
    (tmp_path / "jupyter_token").write_text("token-for-the-test\n")
    full = run(promtool, "check", "config", "prometheus.yml", cwd=tmp_path)
    assert full.returncode == 0, full.stdout + full.stderr
    assert "SUCCESS: 7 rules found" in full.stdout


def test_alert_rules_pass_their_unit_tests(promtool: str) -> None:
    """Every alert fires in one promtool test case and stays quiet in another."""
    checked = run(promtool, "check", "rules", "alerts.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = run(promtool, "test", "rules", "alerts_test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    tests = yaml.safe_load((MONITORING / "alerts_test.yml").read_text())["tests"]
    cases = [case for test in tests for case in test["alert_rule_test"]]
    for alert in alert_names():
        outcomes = {bool(c["exp_alerts"]) for c in cases if c["alertname"] == alert}
        assert outcomes == {True, False}, f"{alert} needs a firing and a quiet case"


def test_dashboard_structure_and_every_query_parse(promtool: str, tmp_path: Path) -> None:
    """The dashboard has unique ids, no overlapping panels, one datasource variable, the
    panels the issue asks for, and every query parses under promtool."""
    board = dashboard.load()
    assert dashboard.structural_problems(board) == []
    titles = " | ".join(p["title"].lower() for p in dashboard.panels(board))
    for topic in ("requests", "error rate", "latency", "users", "rooms", "language and status",
                  "queue depth", "queue wait", "workers"):  # fmt: skip
        assert topic in titles, topic
    rules = [
        {"record": f"dashboard:query_{i}", "expr": q}
        for i, q in enumerate(dashboard.queries(board))
    ]
    path = tmp_path / "dashboard_queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    checked = run(promtool, "check", "rules", str(path))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def alert_names() -> list[str]:
    groups = yaml.safe_load((MONITORING / "alerts.yml").read_text())["groups"]
    return [rule["alert"] for group in groups for rule in group["rules"]]


def alert_expressions() -> list[str]:
    groups = yaml.safe_load((MONITORING / "alerts.yml").read_text())["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]
