"""Prometheus endpoints in tests: reading one (every sample by name and labels), a free port for one."""

from __future__ import annotations

import socket
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

#: Sample value by (sample name, labels); histograms give their `_count`, `_sum` and `_bucket` samples.
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Samples:
    """GET a Prometheus endpoint (it must answer 200) and parse the text format."""
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        text = response.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def free_port() -> int:
    """A TCP port nothing listens on now, e.g. for METRICS_PORT (9191 may be taken)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
