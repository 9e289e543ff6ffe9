"""The example alert rules (deploy/alerts.yml) watch metrics the processes really serve, with labels they
really carry; promtool accepts them and their unit tests (deploy/alerts.test.yml) pass."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import dramatiq.middleware.prometheus
import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from sync_engine import metrics

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "alerts.yml"
RULE_TESTS = ROOT / "deploy" / "alerts.test.yml"
#: Series Prometheus makes itself for every target.
PROMETHEUS_OWN = {"up": {"job", "instance"}}
#: A series selector: a name, its label matchers if any, then a range, an operator or the end.
_SELECTOR = r"\b([a-z_:][a-z0-9_:]*)\s*(?:\{([^}]*)\})?\s*(?:\[|\)|==|>|<|$| unless)"
_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def _ours() -> dict[str, set[str]]:
    """Every series name sync_engine/metrics.py serves → its label names (`le` for histogram buckets)."""
    served: dict[str, set[str]] = {}
    for declared in vars(metrics).values():
        if isinstance(declared, MetricWrapperBase):
            for suffix in _SUFFIXES[declared._type]:
                labels = set(declared._labelnames) | ({"le"} if suffix == "_bucket" else set())
                served[declared._name + suffix] = labels
    return served


def _dramatiqs() -> tuple[set[str], str]:
    source = Path(dramatiq.middleware.prometheus.__file__).read_text()
    return set(re.findall(r'"(dramatiq_\w+)"', source)), source


def _expressions() -> dict[str, str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {rule["alert"]: rule["expr"] for group in groups for rule in group["rules"]}


def test_every_series_an_alert_names_is_served_with_the_labels_it_matches() -> None:
    ours, (dramatiq_names, dramatiq_source) = _ours(), _dramatiqs()
    expressions = _expressions()
    assert len(expressions) >= 10
    named = set()
    for alert, expr in expressions.items():
        selectors = re.findall(_SELECTOR, expr)
        series = [(name, body) for name, body in selectors if "_" in name or name in PROMETHEUS_OWN]
        assert series, f"{alert}: no series found in {expr!r}"
        for name, body in series:
            if name in {"sum", "rate", "increase", "histogram_quantile", "by"}:
                continue
            named.add(name)
            labels = set(re.findall(r"(\w+)\s*[!=]~?", body))
            if name.startswith("dramatiq_"):
                base = re.sub(r"_(bucket|sum|count)$", "", name)
                assert base in dramatiq_names, f"{alert}: Dramatiq serves no {name}"
                assert all(f'"{label}"' in dramatiq_source for label in labels), f"{alert}: {labels}"
            elif name in PROMETHEUS_OWN:
                assert labels <= PROMETHEUS_OWN[name], f"{alert}: {labels}"
            else:
                assert name in ours, f"{alert}: sync_engine/metrics.py serves no {name}"
                assert labels <= ours[name], f"{alert}: {name} has no label {labels - ours[name]}"
    # Every one of our metrics families is watched by some alert, or said here why not.
    unwatched = {name.rsplit("_", 1)[0] for name in ours} - {name.rsplit("_", 1)[0] for name in named}
    assert unwatched == {
        "workday_resync_run_duration_seconds",  # slow runs are the Workday latency alert's business
        "workday_resync_documents_synced",  # volume, not health
        "workday_resync_workday_retries",  # counted in the Workday failure ratio
    }


def test_promtool_accepts_the_rules_and_their_unit_tests_pass() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is missing: .ci/run installs it (Debian's prometheus package)")
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    for command in (["check", "rules", str(RULES)], ["test", "rules", str(RULE_TESTS)]):
        checked = subprocess.run([promtool, *command], capture_output=True, text=True, timeout=60)
        assert checked.returncode == 0, checked.stdout + checked.stderr
