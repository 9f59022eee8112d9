"""Prometheus metrics: one scrape adds up spawned processes; /metrics beats the catch-all."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from provisioner import metrics
from provisioner.app.service import Service
from provisioner.metrics import (
    MULTIPROC_ENV,
    count_fetch,
    count_lockout,
    count_refusal,
    exposition,
    prepare_multiprocess_dir,
    set_representative_calls,
)
from provisioner.pbx.registrations_poller import representative_call_counts

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


@pytest.fixture
def multiproc_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """prepare_multiprocess_dir sets the variable; this puts the old value back afterwards."""
    monkeypatch.setenv(MULTIPROC_ENV, "")


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


def test_metrics_route_wins_over_the_device_file_catch_all(app: Flask) -> None:
    adapter = app.url_map.bind("localhost")
    assert adapter.match("/metrics")[0] == "metrics.scrape"
    assert adapter.match("/Grandstream/metrics")[0] == "device_files.device_file"


def test_scrape_is_parseable_text_and_names_no_device(client: FlaskClient) -> None:
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


def test_labelled_counters_are_remembered_only_for_values_of_the_vocabularies(
    client: FlaskClient,
) -> None:
    """Per request, the labelled child is looked up, not made: only vocabulary values are
    kept, so a bug passing request data can neither grow the memory nor the labels."""
    before = samples(client.get("/metrics").get_data(as_text=True))
    for index in range(50):
        count_fetch("http", "served")
        count_fetch("tftp", f"cfg{index:012x}.xml")
        count_refusal("http", "bad_credentials")
        count_lockout("tftp")
    kept = set(metrics._children)
    assert ("_fetches", "http", "served") in kept
    assert ("_refusals", "http", "bad_credentials") in kept
    assert ("_lockouts", "tftp") in kept
    assert not any("cfg" in value for key in kept for value in key)
    after = samples(client.get("/metrics").get_data(as_text=True))

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("provisioner_fetches_total", protocol="http", outcome="served") == 50
    assert delta("provisioner_fetches_total", protocol="tftp", outcome="other") == 50
    assert delta("provisioner_refusals_total", protocol="http", reason="bad_credentials") == 50
    assert delta("provisioner_lockouts_total", protocol="tftp") == 50


def test_representative_calls_are_counted_per_holding_tenant(
    pbx_inventory: Service, client: FlaskClient
) -> None:
    settings = pbx_inventory.settings  # no PBX core to read: every holder counts 0 calls
    calls = representative_call_counts(pbx_inventory.db, settings)
    assert calls == {"acme": 0}  # "other" holds no representative number: no series
    set_representative_calls(calls | {"acme": 2})
    scraped = samples(client.get("/metrics").get_data(as_text=True))
    assert value(scraped, "provisioner_representative_calls", tenant="acme") == 2
