"""Keys through the API, down to the device's file: the default layout, keys set by position,
the tenant's feature codes, and the refusals (past the model, wrong kind, another tenant's
extension)."""

from __future__ import annotations

from typing import Any

from tests.support.api import Api
from tests.support.grandstream_file import settings as read_file

GXP = "000b82aa0001"
HDV = "0080f0aa0002"


def _setup(api: Api) -> dict[str, Any]:
    tenant = api.ok("POST", "/tenants", 201, json={"name": "acme"})
    accounts = {
        ext: api.ok("POST", f"/tenants/{tenant['id']}/accounts", 201,
                    json={"extension": ext, "display_name": f"内線{ext}"})
        for ext in ("1001", "1002", "2001")
    }  # fmt: skip
    for mac, model in ((GXP, "GXP2170"), (HDV, "KX-HDV230")):
        api.ok("POST", "/devices", 201, json={"mac": mac, "model": model})
        api.ok("POST", f"/devices/{mac}/actions/bind", json={"tenant_id": tenant["id"]})
    api.ok("PUT", f"/devices/{GXP}/lines/1", json={"account_id": accounts["1001"]["id"]})
    other = api.ok("POST", "/tenants", 201, json={"name": "other"})
    api.ok("POST", f"/tenants/{other['id']}/accounts", 201,
           json={"extension": "3001", "display_name": "x"})  # fmt: skip
    return tenant


def _file(api: Api, mac: str) -> dict[str, str]:
    return read_file(api.service.provisioner.preview(mac))[1]


def test_default_layout_is_lines_then_the_tenants_other_extensions(api: Api) -> None:
    _setup(api)
    shown = api.ok("GET", f"/devices/{GXP}/keys", role="readonly")
    assert shown["default"] is True
    assert shown["positions"] == 48
    assert [(k["position"], k["type"], k["value"]) for k in shown["keys"]] == [
        (1, "line", "1"), (2, "blf", "1002"), (3, "blf", "2001")]  # fmt: skip
    values = _file(api, GXP)
    assert (values["pks.vpk.1.keyMode"], values["pks.vpk.2.keyMode"]) == ("Line", "BLF")
    assert values["pks.vpk.3.description"] == "内線2001"


def test_keys_set_by_position_reach_the_file_with_the_feature_codes(api: Api) -> None:
    tenant = _setup(api)
    body = {"expansion_modules": 1, "keys": [
        {"position": 1, "type": "line", "value": "1", "label": "1001"},
        {"position": 2, "type": "blf", "value": "2001", "label": "受付"},
        {"position": 3, "type": "park", "value": "1"},
        {"position": 4, "type": "pickup", "value": "2001"},
        {"position": 49, "type": "speed_dial", "value": "0312345678"},
    ]}  # fmt: skip
    shown = api.ok("PUT", f"/devices/{GXP}/keys", json=body, role="warehouse")
    assert (shown["default"], shown["positions"]) == (False, 88)
    assert shown["keys"][2]["value"] == "*701"
    assert shown["keys"][4]["bank"] == "GXP2200EXT"
    values = _file(api, GXP)
    assert (values["pks.vpk.3.keyMode"], values["pks.vpk.3.value"]) == ("CallPark", "*701")
    assert values["pks.vpk.4.value"] == "*82001"
    assert values["pks.ext.1.value"] == "0312345678"

    api.ok("PUT", f"/tenants/{tenant['id']}/feature-codes",
           json={"park_code": "#7", "pickup_code": "**"})  # fmt: skip
    assert _file(api, GXP)["pks.vpk.3.value"] == "#71"
    api.ok("PUT", f"/devices/{GXP}/keys/5", json={"type": "dtmf", "value": "1#"})
    assert _file(api, GXP)["pks.vpk.5.keyMode"] == "DialDTMF"
    api.ok("DELETE", f"/devices/{GXP}/keys/5")
    assert api.ok("DELETE", f"/devices/{GXP}/keys")["default"] is True

    hdv = {"keys": [{"position": 1, "type": "blf", "value": "1002", "label": "佐藤"}]}
    api.ok("PUT", f"/devices/{HDV}/keys", json=hdv)
    pana = api.service.provisioner.preview(HDV).decode()
    assert 'FLEX_BUTTON_FACILITY_ACT1="X_PANASONIC_IPTEL_BLF"' in pana
    assert 'FLEX_BUTTON_LABEL1="佐藤"' in pana


def test_keys_past_the_model_or_of_the_wrong_kind_are_refused_by_name(api: Api) -> None:
    _setup(api)

    def refused(mac: str, status: int, **key: Any) -> str:
        return api.refused("PUT", f"/devices/{mac}/keys", status, json={"keys": [key]})

    assert "the GXP2170 with 0 expansion module(s) has keys 1-48" in refused(
        GXP, 422, position=49, type="blf", value="1002")  # fmt: skip
    assert "the KX-HDV230 with 0 expansion module(s) has keys 1-24" in refused(
        HDV, 422, position=25, type="blf", value="1002")  # fmt: skip
    assert "not an extension of the device's tenant" in refused(
        GXP, 422, position=2, type="blf", value="3001")  # fmt: skip
    assert "a line key names a line of the GXP2170, 1-6" in refused(
        GXP, 422, position=1, type="line", value="7")  # fmt: skip
    assert "it takes" in refused(HDV, 422, position=1, type="dtmf", value="1")
    assert "0-4 GXP2200EXTs" in api.refused(
        "PUT", f"/devices/{GXP}/keys", 422, json={"expansion_modules": 5, "keys": []}
    )
    assert "Must be one of" in api.refused(
        "PUT", f"/devices/{GXP}/keys/1", 422, json={"type": "intercom"}
    )
    assert "warehouse role may not" in api.refused(
        "PUT", "/tenants/1/feature-codes", 403, role="warehouse",
        json={"park_code": "*7", "pickup_code": "*8"})  # fmt: skip
    assert "0-9 * #" in api.refused(
        "PUT", "/tenants/1/feature-codes", 422, json={"park_code": "p", "pickup_code": "*8"}
    )
    assert api.ok("GET", f"/devices/{GXP}/keys")["default"] is True  # nothing half-set


def test_a_gateway_has_no_keys_and_no_settings(api: Api) -> None:
    """A 32Gateway fetches JSON, not a phone file: its lookup must not ask a vendor module."""
    tenant = _setup(api)
    api.ok("POST", "/devices", 201, json={"mac": "000b82cc0001", "model": "32Gateway"})
    api.ok("POST", "/devices/000b82cc0001/actions/bind", json={"tenant_id": tenant["id"]})
    assert api.ok("GET", "/devices/000b82cc0001/keys")["keys"] == []
    assert "has no settings" in api.refused("GET", "/devices/000b82cc0001/settings", 409)
