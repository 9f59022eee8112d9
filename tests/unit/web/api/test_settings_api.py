"""Settings with inheritance and raw vendor parameters through the API, down to the file.

Tenant overrides the default, model overrides tenant, device overrides model; the API names the
source of each value; raw parameters are refused by name when the family's template lacks them
or the service owns them.
"""

from __future__ import annotations

from typing import Any

from provisioner.app.service import Service
from tests.support.api import Api
from tests.support.grandstream_file import settings as read_file

GXP = "000b82aa0001"
GXP1628 = "000b82aa0002"
PANA = "0080f0aa0003"


def _setup(api: Api) -> int:
    tenant = api.ok("POST", "/tenants", 201, json={"name": "acme"})
    for mac, model in ((GXP, "GXP2170"), (GXP1628, "GXP1628"), (PANA, "KX-HDV230")):
        api.ok("POST", "/devices", 201, json={"mac": mac, "model": model})
        api.ok("POST", f"/devices/{mac}/actions/bind", json={"tenant_id": tenant["id"]})
    return int(tenant["id"])


def _file(service: Service, mac: str) -> dict[str, str]:
    return read_file(service.provisioner.preview(mac))[1]


def _shown(api: Api, mac: str) -> dict[str, Any]:
    body = api.ok("GET", f"/devices/{mac}/settings", role="readonly")
    return {s["name"]: (s["value"], s["source"], s["written"]) for s in body["settings"]}


def test_the_most_specific_level_wins_and_the_api_names_it(api: Api) -> None:
    tenant = _setup(api)
    assert _shown(api, GXP)["time_format"] == ("24h", "default", True)
    assert _file(api.service, GXP)["dateTime.format.time"] == "24Hour"

    api.ok("PUT", f"/tenants/{tenant}/settings/time_format", json={"value": "12h"})
    assert _shown(api, GXP)["time_format"] == ("12h", "tenant", True)
    assert _file(api.service, GXP)["dateTime.format.time"] == "12Hour"
    assert _file(api.service, GXP1628)["P122"] == "0"  # the tenant's other phones too

    api.ok("PUT", "/models/GXP2170/settings/time_format", json={"value": "24h"})
    assert _shown(api, GXP)["time_format"] == ("24h", "model", True)
    assert _shown(api, GXP1628)["time_format"] == ("12h", "tenant", True)

    api.ok("PUT", f"/devices/{GXP}/settings/time_format", json={"value": "12h"}, role="warehouse")
    assert _shown(api, GXP)["time_format"] == ("12h", "device", True)
    assert _file(api.service, GXP)["dateTime.format.time"] == "12Hour"

    api.ok("DELETE", f"/devices/{GXP}/settings/time_format")
    assert _shown(api, GXP)["time_format"] == ("24h", "model", True)
    api.ok("DELETE", "/models/GXP2170/settings/time_format")
    api.ok("DELETE", f"/tenants/{tenant}/settings/time_format")
    assert _shown(api, GXP)["time_format"] == ("24h", "default", True)
    assert "not set" in api.refused("DELETE", f"/tenants/{tenant}/settings/time_format", 404)


def test_values_are_checked_against_the_catalogue_and_the_model(api: Api) -> None:
    tenant = _setup(api)
    assert "unknown setting 'volume'" in api.refused(
        "PUT", f"/devices/{GXP}/settings/volume", 404, json={"value": "1"}
    )
    assert "no phone model 'GXP9999'" in api.refused("GET", "/models/GXP9999/settings", 404)
    assert "is not one of 24h, 12h" in api.refused(
        "PUT", f"/devices/{GXP}/settings/time_format", 422, json={"value": "25h"}
    )
    # P1650 has no "both" on GXP16xx; the alias on GXP21xx has.
    assert "GXP1628 cannot take 'both'" in api.refused(
        "PUT", f"/devices/{GXP1628}/settings/web_ui", 422, json={"value": "both"}
    )
    api.ok("PUT", f"/devices/{GXP}/settings/web_ui", json={"value": "both"})
    assert _file(api.service, GXP)["security.webAccessMode"] == "Both"
    # A tenant value a model cannot take reaches the others; the device view says why not.
    api.ok("PUT", f"/tenants/{tenant}/settings/call_waiting", json={"value": "off"})
    assert _file(api.service, GXP)["call.callWaiting.enable"] == "No"
    assert _file(api.service, GXP1628)["P91"] == "1"  # "Disable Call Waiting": yes
    # Panasonic: CW_ENABLE_n on each of the KX-HDV230's six lines.
    body = api.service.provisioner.preview(PANA)
    assert all(f'CW_ENABLE_{n}="N"'.encode() in body for n in range(1, 7))
    assert b"CW_ENABLE_7" not in body
    api.ok("PUT", f"/tenants/{tenant}/settings/intercom_auto_answer", json={"value": "on"})
    shown = api.ok("GET", f"/devices/{PANA}/settings")["settings"]
    intercom = next(s for s in shown if s["name"] == "intercom_auto_answer")
    assert (intercom["value"], intercom["source"], intercom["written"]) == ("on", "tenant", False)
    assert "no source names" in intercom["note"]
    assert "no source names" in api.refused(
        "PUT", f"/devices/{PANA}/settings/intercom_auto_answer", 422, json={"value": "on"}
    )


def test_japanese_is_the_default_where_the_model_has_it(api: Api) -> None:
    _setup(api)
    assert _file(api.service, GXP)["language.gui"] == "ja"
    assert _file(api.service, GXP1628)["P1362"] == "ja"
    language = _shown(api, PANA)["display_language"]
    assert language[:2] == ("ja", "default")
    assert language[2] is False  # no Panasonic source gives a Japanese value
    body = api.service.provisioner.preview(PANA)
    assert b"LANGUAGE" not in body
    assert b'TIME_ZONE="540"' in body
    api.ok("PUT", f"/devices/{PANA}/settings/time_zone", json={"value": "UTC"})
    assert b'TIME_ZONE="0"' in api.service.provisioner.preview(PANA)


def test_raw_parameters_are_refused_by_name_unless_the_template_has_them(api: Api) -> None:
    tenant = _setup(api)
    refused = api.refused("PUT", f"/devices/{GXP1628}/raw/P99999", 422, json={"value": "1"})
    assert "P99999 is not a parameter of the gxp16xx template" in refused
    assert "fusionpbx/fusionpbx@" in refused  # the source is named
    for owned in ("P34", "P237", "P1359", "P2"):
        refused = api.refused("PUT", f"/devices/{GXP1628}/raw/{owned}", 422, json={"value": "x"})
        assert f"{owned} is owned by the service" in refused
    assert "owned by the service" in api.refused(
        "PUT", f"/devices/{GXP}/raw/account.1.sip.subscriber.password", 422, json={"value": "x"}
    )
    assert "is the setting 'time_zone'" in api.refused(
        "PUT", f"/devices/{GXP1628}/raw/P64", 422, json={"value": "TZZ-9"}
    )
    assert "not a documented Panasonic parameter" in api.refused(
        "PUT", f"/devices/{PANA}/raw/RINGTONE_1", 422, json={"value": "1"}
    )
    assert "written by a setting (call_waiting)" in api.refused(
        "PUT", f"/devices/{PANA}/raw/CW_ENABLE_1", 422, json={"value": "Y"}
    )
    assert "XMLAPP_LDAP_URL is owned by the service" in api.refused(
        "PUT", f"/devices/{PANA}/raw/XMLAPP_LDAP_URL", 422, json={"value": "http://x/y"}
    )
    assert "warehouse role may not" in api.refused(
        "PUT", f"/devices/{GXP1628}/raw/P1347", 403, json={"value": "*"}, role="warehouse"
    )

    # P1347 "BLF Call-pickup Prefix" is in the GXP16xx template: an expert may set it.
    shown = api.ok("PUT", f"/devices/{GXP1628}/raw/P1347", json={"value": "*8"})
    assert shown["raw"] == [{"name": "P1347", "value": "*8", "source": "device"}]
    assert _file(api.service, GXP1628)["P1347"] == "*8"
    # Per tenant and model; the device's own value wins over the tenant's.
    api.ok("PUT", f"/tenants/{tenant}/raw/GXP1628/P1347", json={"value": "**"})
    assert _file(api.service, GXP1628)["P1347"] == "*8"
    api.ok("DELETE", f"/devices/{GXP1628}/raw/P1347")
    assert _file(api.service, GXP1628)["P1347"] == "**"
    assert "P1347" not in _file(api.service, GXP)  # another model: not reached
    api.ok("DELETE", f"/tenants/{tenant}/raw/GXP1628/P1347", 204)
    assert "P1347" not in _file(api.service, GXP1628)


def test_a_tenant_change_moves_the_revision_and_reaches_every_model(api: Api) -> None:
    tenant = _setup(api)
    before = api.service.db.revision()
    api.ok("PUT", f"/tenants/{tenant}/settings/date_format", json={"value": "dd-mm-yyyy"})
    assert api.service.db.revision() > before
    assert _file(api.service, GXP)["dateTime.format.date"] == "dd-mm-yyyy"
    assert _file(api.service, GXP1628)["P102"] == "2"
