"""Programmable keys per model: how many, which kinds where, and refusals past the model.

That every key parameter written is in the vendor's template for its family is checked on the
golden files (test_grandstream_catalogue.py, test_panasonic_catalogue.py).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from provisioner.vendors import grandstream, panasonic
from provisioner.vendors.base import DeviceView, KeyType, KeyView, RenderError
from tests.support.golden_devices import CONTEXT, GRP2614, GXP1628, GXP2170, KX_HDV230, KX_HDV430

GS, PANA = grandstream.VENDOR, panasonic.VENDOR


def plan(device: DeviceView) -> dict[str, str]:
    module = GS if device.model.vendor == "grandstream" else PANA
    request = module.match_file(module.device_filename(device.mac, device.model))
    assert request is not None
    found = module.plan(request, device, CONTEXT)
    assert found is not None
    return dict(found.params)


def with_keys(device: DeviceView, *keys: KeyView, modules: int = 0) -> DeviceView:
    return replace(device, keys=keys, expansion_modules=modules)


@pytest.mark.parametrize(
    ("module", "model", "phone", "module_keys"),
    [
        (GS, "GXP2170", 48, 40),  # 48 VPKs, GXP2200EXT
        (GS, "GXP2130", 20, 0),  # 12 VPKs and 8 MPKs, no module
        (GS, "GRP2614", 40, 40),  # 16 VPKs and 24 MPKs, GBX20
        (GS, "GXP1628", 10, 0),  # 2 line keys and 8 MPKs
        (GS, "GXP1610", 2, 0),
        (GS, "HT802", 0, 0),
        (PANA, "KX-HDV230", 24, 40),  # flexible buttons, KX-HDV20
        (PANA, "KX-HDV430", 24, 40),
        (PANA, "KX-HDV130", 0, 0),
        (PANA, "KX-UT133", 0, 0),
    ],
)
def test_key_counts(module, model: str, phone: int, module_keys: int) -> None:
    layout = module.key_layout(module.models[model])
    assert layout.phone_keys() == phone
    assert (layout.module.count if layout.module else 0) == module_keys


def test_the_samples_write_their_keys_where_the_templates_put_them() -> None:
    gxp = plan(GXP2170)
    assert (gxp["pks.vpk.7.keyMode"], gxp["pks.vpk.7.value"]) == ("BLF", "2001")
    assert gxp["pks.vpk.48.keyMode"] == "None"  # the whole VPK run is written
    assert (gxp["pks.ext.1.keyMode"], gxp["pks.ext.1.account"]) == ("BLF", "Account1")
    assert (gxp["pks.vpk.9.keyMode"], gxp["pks.vpk.9.value"]) == ("CallPark", "*70")
    assert gxp["pks.vpk.6.account"] == "5"  # line 6 is account index 5
    grp = plan(GRP2614)
    assert (grp["pks.mpk.1.keyMode"], grp["pks.mpk.1.value"]) == ("BLF", "2002")
    p = plan(GXP1628)
    assert (p["P1365"], p["P1366"]) == ("0", "1")  # line key 2: Line, account 2
    assert (p["P323"], p["P303"], p["P302"]) == ("1", "2001", "受付 <&\"'>")  # MPK 1: BLF
    assert (p["P324"], p["P306"]) == ("9", "*70")  # MPK 2: call park
    assert (p["P353"], p["P356"]) == ("1", "2002")  # MPK 8 has its own numbers
    hdv = plan(KX_HDV230)
    assert hdv["FLEX_BUTTON_FACILITY_ACT4"] == "X_PANASONIC_IPTEL_BLF"
    assert (hdv["FLEX_BUTTON_FACILITY_ACT5"], hdv["FLEX_BUTTON_QUICK_DIAL5"]) == (
        "X_PANASONIC_IPTEL_ONETOUCH", "0312345678")  # fmt: skip
    assert hdv["DSS_BUTTON_FACILITY_ARG1"] == "2002"
    assert hdv["DSS_BUTTON_FACILITY_ACT40"] == ""  # every console key written
    assert plan(KX_HDV430)["FLEX_BUTTON_QUICK_DIAL24"] == "0312345678"


@pytest.mark.parametrize(
    ("device", "message"),
    [
        (with_keys(GXP1628, KeyView(11, KeyType.BLF, "2001")), "has 10 keys"),
        (with_keys(GXP2170, KeyView(49, KeyType.BLF, "2001")), "0 expansion module"),
        (with_keys(GXP2170, KeyView(209, KeyType.BLF, "2001"), modules=4), "has 208 keys"),
        (with_keys(KX_HDV230, KeyView(25, KeyType.BLF, "2001")), "has 24 keys"),
        (with_keys(KX_HDV430, KeyView(65, KeyType.BLF, "2001"), modules=1), "has 64 keys"),
        (with_keys(GXP1628, KeyView(1, KeyType.BLF, "2001")), "line key of the GXP1628 cannot"),
        (with_keys(GXP1628, KeyView(3, KeyType.LINE, "1")), "MPK of the GXP1628 cannot be line"),
        (with_keys(GXP2170, KeyView(49, KeyType.LINE, "1"), modules=1), "GXP2200EXT"),
        (with_keys(KX_HDV230, KeyView(1, KeyType.DTMF, "1")), "has no dtmf key"),
    ],
)
def test_keys_past_the_model_or_of_the_wrong_kind_are_refused(
    device: DeviceView, message: str
) -> None:
    with pytest.raises(RenderError, match=message):
        plan(device)


def test_a_gxp2170_module_key_is_numbered_on_across_modules() -> None:
    device = with_keys(GXP2170, KeyView(48 + 40 + 1, KeyType.BLF, "2009"), modules=2)
    assert plan(device)["pks.ext.41.value"] == "2009"
