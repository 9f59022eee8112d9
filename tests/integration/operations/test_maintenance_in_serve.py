"""``serve`` runs the maintenance thread: its gauges reach ``/metrics`` (scraped from an HTTP
worker, set in serve's parent process)."""

from __future__ import annotations

import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from provisioner.domain.demo import demo_rows
from tests.support.server import start_server, stop_server
from tests.support.waiting import wait_until


def scrape(base: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as answer:  # noqa: S310
        text = answer.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_serve_sets_the_timeline_and_fleet_gauges(tmp_path: Path) -> None:
    server = start_server(
        tmp_path, f"sqlite:///{tmp_path / 'inventory.db'}",
        env_extra={"PROVISIONER_MAINTENANCE_INTERVAL": "1"},
    )  # fmt: skip
    fleet = len({row["mac"] for row in demo_rows()})
    never = ("provisioner_fleet_devices", (("state", "never_fetched"),))
    try:
        assert wait_until(lambda: scrape(server.http).get(never) == fleet, 30, interval=0.5)
        gauges = scrape(server.http)
        assert gauges["provisioner_timeline_events", ()] > 0  # the demo import's entries
        assert gauges["provisioner_timeline_oldest_event_timestamp_seconds", ()] > 0
    finally:
        stop_server(server)
