"""Prometheus metrics: one scrape adds up spawned processes; /metrics beats the catch-all."""

from __future__ import annotations

import logging
import multiprocessing
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from provisioner.app.service import Service
from provisioner.metrics import (
    MULTIPROC_ENV,
    count_fetch,
    count_lockout,
    count_refusal,
    exposition,
    observe_render,
    prepare_multiprocess_dir,
)
from provisioner.web import create_app

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    """Every sample of a scrape by name and labels; parsing it is half the test."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(scraped: Samples, name: str, **labels: str) -> float:
    return scraped.get((name, frozenset(labels.items())), 0.0)


def worker(protocol: str, fetches: int) -> None:
    """One process's traffic: runs in a spawned interpreter, like a granian worker."""
    for _ in range(fetches):
        count_fetch(protocol, "served")
    count_fetch("http", "not_found")
    count_refusal(protocol, "unknown_device")
    count_lockout(protocol)
    observe_render(0.002)


@pytest.fixture
def multiproc_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """prepare_multiprocess_dir sets the variable; this puts the old value back afterwards."""
    monkeypatch.setenv(MULTIPROC_ENV, "")


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


@pytest.mark.usefixtures("multiproc_env")
def test_prepare_deletes_the_last_runs_files(tmp_path: Path) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_12345.db").write_bytes(b"stale")
    (directory / "README").write_text("not ours")
    assert prepare_multiprocess_dir(directory) == directory
    assert sorted(path.name for path in directory.iterdir()) == ["README"]
    assert samples(exposition().decode()) == {}  # nothing counted in this run yet


def test_prepare_without_a_base_makes_a_fresh_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MULTIPROC_ENV, "")
    first = prepare_multiprocess_dir()
    monkeypatch.setenv(MULTIPROC_ENV, "")
    second = prepare_multiprocess_dir()
    assert first != second  # two servers on one machine never share counts
    assert first.is_dir()
    assert not list(first.iterdir())


def test_prepare_honours_an_operators_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path))
    assert prepare_multiprocess_dir() == tmp_path


def test_metrics_route_wins_over_the_device_file_catch_all(service: Service) -> None:
    app = create_app(service)
    adapter = app.url_map.bind("localhost")
    assert adapter.match("/metrics")[0] == "metrics.scrape"
    assert adapter.match("/Grandstream/metrics")[0] == "device_files.device_file"


def test_scrape_is_parseable_text_and_names_no_device(service: Service) -> None:
    client = create_app(service).test_client()
    before = samples(client.get("/metrics").get_data(as_text=True))
    assert client.get("/prov/cfg000b82aabbcc.xml").status_code == 404
    count_fetch("http", "served")
    count_refusal("tftp", "cfg000b82aabbcc.xml")  # a bug passing a file name: becomes "other"
    count_fetch("https", "000b82aabbcc")

    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.headers["Cache-Control"] == "no-store"
    text = response.get_data(as_text=True)
    assert "000b82aabbcc" not in text.lower()
    after = samples(text)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("provisioner_fetches_total", protocol="http", outcome="served") == 1
    assert delta("provisioner_refusals_total", protocol="tftp", reason="other") == 1
    assert delta("provisioner_fetches_total", protocol="https", outcome="other") == 1
    names = {family.name for family in text_string_to_metric_families(text)}
    assert {"provisioner_fetches", "provisioner_render_seconds"} <= names
    assert client.head("/metrics").status_code == 200


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
