"""Shared vendor helpers: resync times spread by MAC, the PBX address, our URLs."""

from __future__ import annotations

from dataclasses import replace

import pytest

from provisioner.vendors.base import RenderError
from provisioner.vendors.common import (
    canonical_mac,
    provisioning_paths,
    resync_time,
    sip_server,
)
from tests.support.golden_devices import CONTEXT

MACS = [f"000b82{n:06x}" for n in range(500)]


def test_resync_time_is_deterministic_and_depends_on_the_mac() -> None:
    assert resync_time("000b82aabbcc", (1, 5)) == resync_time("000B82AABBCC", (1, 5))
    assert len({resync_time(mac, (1, 5)) for mac in MACS}) > 100


@pytest.mark.parametrize(
    ("window", "hours"),
    [
        ((1, 5), {1, 2, 3, 4}),
        ((23, 2), {23, 0, 1}),
        ((3, 4), {3}),
        ((0, 24), set(range(24))),
        ((6, 6), set(range(24))),  # start == end: all day
    ],
)
def test_resync_time_stays_in_the_window(window: tuple[int, int], hours: set[int]) -> None:
    seen = set()
    for mac in MACS:
        hour, minute = resync_time(mac, window)
        assert hour in hours
        assert 0 <= minute < 60
        seen.add(hour)
    assert seen == hours


@pytest.mark.parametrize("window", [(-1, 5), (24, 2), (1, 25)])
def test_bad_resync_window_is_refused(window: tuple[int, int]) -> None:
    with pytest.raises(RenderError, match="resync_window"):
        resync_time("000b82aabbcc", window)


def test_sip_server_writes_the_port_only_when_not_5060() -> None:
    assert sip_server(CONTEXT) == "pbx.example.jp"
    assert sip_server(replace(CONTEXT, pbx_port=5080)) == "pbx.example.jp:5080"


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("https://prov.example.jp/zt", ("https", "prov.example.jp/zt", "prov.example.jp/firmware")),
        ("http://10.0.0.5:8080", ("http", "10.0.0.5:8080", "10.0.0.5:8080/firmware")),
        ("http://h/a/b/", ("http", "h/a/b", "h/firmware")),
    ],
)
def test_provisioning_paths(base: str, expected: tuple[str, str, str]) -> None:
    assert provisioning_paths(replace(CONTEXT, http_base=base)) == expected


@pytest.mark.parametrize("base", ["ftp://h/p", "prov.example.jp/zt", "https://"])
def test_provisioning_paths_refuse_other_schemes(base: str) -> None:
    with pytest.raises(RenderError, match="http_base"):
        provisioning_paths(replace(CONTEXT, http_base=base))


def test_canonical_mac() -> None:
    assert canonical_mac("000B82AABBCC") == "000b82aabbcc"
    for bad in ("00:0b:82:aa:bb:cc", "000b82aabbc", "000b82aabbcg"):
        with pytest.raises(ValueError, match="12 hex"):
            canonical_mac(bad)
