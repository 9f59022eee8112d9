"""Metrics counted in other processes: spawned workers add up in one scrape, first counts race."""

from __future__ import annotations

import logging
import multiprocessing
import subprocess
import sys
from pathlib import Path

import pytest

from provisioner.metrics import (
    count_fetch,
    count_lockout,
    count_refusal,
    exposition,
    observe_render,
    prepare_multiprocess_dir,
)
from tests.unit import test_metrics as unit
from tests.unit.test_metrics import samples, value

multiproc_env = unit.multiproc_env  # the fixture


def worker(protocol: str, fetches: int) -> None:
    """One process's traffic: runs in a spawned interpreter, like a granian worker."""
    for _ in range(fetches):
        count_fetch(protocol, "served")
    count_fetch("http", "not_found")
    count_refusal(protocol, "unknown_device")
    count_lockout(protocol)
    observe_render(0.002)


@pytest.mark.usefixtures("multiproc_env")
def test_counts_from_two_spawned_processes_add_up_in_one_scrape(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, "provisioner.metrics"):
        directory = prepare_multiprocess_dir(tmp_path / "metrics")
    # pytest imported prometheus_client first: this process's own counts are not shared.
    assert "imported before" in caplog.text
    spawn = multiprocessing.get_context("spawn")
    processes = [
        spawn.Process(target=worker, args=("http", 3)),
        spawn.Process(target=worker, args=("tftp", 5)),
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
        assert process.exitcode == 0
    assert len(list(directory.glob("counter_*.db"))) == 2  # one file per process

    scraped = samples(exposition().decode())
    assert value(scraped, "provisioner_fetches_total", protocol="http", outcome="served") == 3
    assert value(scraped, "provisioner_fetches_total", protocol="tftp", outcome="served") == 5
    assert value(scraped, "provisioner_fetches_total", protocol="http", outcome="not_found") == 2
    for protocol in ("http", "tftp"):
        labels = {"protocol": protocol}
        assert value(scraped, "provisioner_refusals_total", reason="unknown_device", **labels) == 1
        assert value(scraped, "provisioner_lockouts_total", **labels) == 1
    assert value(scraped, "provisioner_render_seconds_count") == 2
    assert value(scraped, "provisioner_render_seconds_sum") == pytest.approx(0.004)
    assert value(scraped, "provisioner_render_seconds_bucket", le="0.0025") == 2


def test_first_counts_from_many_threads_at_once_register_each_metric_once() -> None:
    """The first requests after a start arrive together; none may fail on registration."""
    script = """
import threading
from provisioner import metrics
start = threading.Barrier(32)
failed = []
def hit():
    start.wait()
    try:
        metrics.count_fetch("http", "served")
        metrics.observe_render(0.001)
    except Exception as exc:
        failed.append(exc)
threads = [threading.Thread(target=hit) for _ in range(32)]
for t in threads: t.start()
for t in threads: t.join()
assert not failed, failed
"""
    for _ in range(3):
        result = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, result.stderr
