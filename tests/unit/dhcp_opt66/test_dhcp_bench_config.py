"""Bench settings read from TOML and options, and refused by name (no dnsmasq, no server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dhcp_opt66.settings import BenchConfigError, load

BASE = {
    "iface": "eth9",
    "address": "10.204.7.1/24",
    "provisioning_url": "http://prov.bench.test/gs",
}


def test_toml_settings_with_options_on_top(tmp_path: Path) -> None:
    toml = tmp_path / "bench.toml"
    toml.write_text(
        '[bench]\niface = "eth1"\naddress = "10.204.7.1/24"\n'
        'provisioning_url = "http://prov.bench.test:8080/"\npbx_core = "pbx.bench.test:5070"\n'
        'ntp = ["10.204.7.5"]\n'
    )
    bench = load(toml, {"iface": "eth2", "lease_time": None})
    assert bench.iface == "eth2"
    assert str(bench.range_start) == "10.204.7.20"
    assert str(bench.range_end) == "10.204.7.250"
    assert [str(n) for n in bench.ntp] == ["10.204.7.5"]
    assert bench.pbx_port == 5070
    assert str(bench.provisioning_ip) == "10.204.7.1"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"provisioning_url": None}, "provisioning_url"),
        ({"address": "10.204.7.1"}, "prefix"),
        ({"provisioning_url": 'http://x/"\ndhcp-range=1'}, "quotes"),
        ({"provisioning_url": "gopher://x/"}, "http"),
        ({"range_start": "10.204.8.10"}, "not a host of the bench network"),
        ({"range_start": "10.204.7.1"}, "inside the range"),
        ({"range_start": "10.204.7.150", "range_end": "10.204.7.120"}, "before"),
        ({"range_start": "10.204.7.0"}, "not a host"),
        ({"domain": "bad domain"}, "domain"),
        ({"pbx_core": "pbx.bench.test:99999"}, "port"),
        ({"lease_time": "1 week"}, "lease_time"),
        ({"iface": "eth0; rm -rf /"}, "interface"),
        ({"wat": 1}, "unknown"),
    ],
)
def test_bad_settings_are_refused_by_name(change: dict[str, object], words: str) -> None:
    with pytest.raises(BenchConfigError, match=words):
        load(None, {**BASE, **change})
