"""POST /api/v1/dhcp/leases: bench lease events on device timelines, refusals, roles."""

from __future__ import annotations

import pytest

from tests.support.api import Api

MAC = "00:0b:82:aa:10:01"


@pytest.fixture
def device(api: Api) -> str:
    api.ok("POST", "/devices", 201, json={"mac": MAC, "model": "GXP2170"})
    return MAC


def test_a_lease_event_lands_on_the_timeline(api: Api, device: str) -> None:
    body = {"action": "add", "mac": device, "ip": "10.204.1.150", "hostname": "GXP2170",
            "vendor_class": "Grandstream GXP2170 dslforum.org"}  # fmt: skip
    event = api.ok("POST", "/dhcp/leases", 201, json=body, role="warehouse")
    assert event["kind"] == "dhcp"
    assert event["protocol"] == "dhcp"
    assert event["source"] == "10.204.1.150"
    assert event["actor"] == "api warehouse"
    assert event["detail"] == (
        "add 10.204.1.150 host=GXP2170 vendor=Grandstream_GXP2170_dslforum.org"
    )
    api.ok("POST", "/dhcp/leases", 201, json={"action": "del", "mac": "000B82AA1001",
                                              "ip": "10.204.1.150"})  # fmt: skip
    timeline = api.ok("GET", f"/devices/{device}/timeline")
    details = [e["detail"] for e in timeline if e["kind"] == "dhcp"]
    assert "del 10.204.1.150 host=- vendor=-" in details
    assert len(details) == 2


def test_unknown_mac_is_404_and_writes_nothing(api: Api, device: str) -> None:
    message = api.refused(
        "POST",
        "/dhcp/leases",
        404,
        json={"action": "add", "mac": "00:0b:82:99:99:99", "ip": "10.0.0.9"},
    )
    assert "000b82999999" in message
    assert not [e for e in api.ok("GET", f"/devices/{device}/timeline") if e["kind"] == "dhcp"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "renew", "mac": MAC, "ip": "10.0.0.1"}, "action"),
        ({"action": "add", "mac": MAC, "ip": "10.0.0.300"}, "ip"),
        ({"action": "add", "mac": MAC, "ip": "::1"}, "ip"),
        ({"action": "add", "mac": MAC}, "ip"),
        ({"action": "add", "mac": MAC, "ip": "10.0.0.1", "hostname": "a\nb"}, "hostname"),
        ({"action": "add", "mac": MAC, "ip": "10.0.0.1", "hostname": ""}, "hostname"),
        (
            {"action": "add", "mac": MAC, "ip": "10.0.0.1", "vendor_class": "x" * 300},
            "vendor_class",
        ),
        ({"action": "add", "mac": MAC, "ip": "10.0.0.1", "extra": 1}, "extra"),
    ],
)
def test_malformed_events_are_422(
    api: Api, device: str, body: dict[str, object], field: str
) -> None:
    assert field in api.refused("POST", "/dhcp/leases", 422, json=body)
    assert not [e for e in api.ok("GET", f"/devices/{device}/timeline") if e["kind"] == "dhcp"]


@pytest.mark.parametrize("mac", ["zz", "01:00:5e:00:00:01", "00:0b:82:aa:10"])
def test_a_malformed_mac_is_422(api: Api, mac: str) -> None:
    body = {"action": "add", "mac": mac, "ip": "10.0.0.1"}
    assert "mac" in api.refused("POST", "/dhcp/leases", 422, json=body)


@pytest.mark.parametrize("role", ["support", "readonly"])
def test_only_warehouse_and_admin_may_post(api: Api, device: str, role: str) -> None:
    body = {"action": "add", "mac": device, "ip": "10.0.0.1"}
    api.refused("POST", "/dhcp/leases", 403, json=body, role=role)
    response = api.client.post("/api/v1/dhcp/leases", json=body)
    assert response.status_code == 401
