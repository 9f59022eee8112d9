"""The vendor facts agree with the model tables, the DHCP side, the firmware and the demo."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from dhcp_opt66 import vendors as dhcp_vendors
from firmware.versions import parse_version
from provisioner.domain.demo import demo_mac
from provisioner.domain.inventory.accounts import DISPLAY_NAME_PATTERN
from provisioner.vendors import (
    UNWRITABLE_CHARACTERS,
    VENDORS,
    all_models,
    grandstream,
    panasonic,
    refuse_unwritable_text,
    vendor,
)
from provisioner.vendors.base import DeviceKind, RenderError, VendorModule
from provisioner.vendors.facts import (
    FIRMWARE_VERSION_EXAMPLES,
    FIRMWARE_VERSION_PATTERN,
    OUIS,
    POE_ONLY_VENDORS,
    VENDOR_CLASSES,
    VENDOR_NAMES,
)

SAMPLES = {
    grandstream.VENDOR.name: grandstream.files.USER_AGENT_SAMPLES,
    panasonic.VENDOR.name: panasonic.files.USER_AGENT_SAMPLES,
}


def _dhcp_vendor(mac: str, vendor_class: str = "") -> str | None:
    """Whose client dhcp_opt66 takes a MAC (12 hex digits) and option 60 for."""
    found = dhcp_vendors.vendor_of(":".join(mac[i : i + 2] for i in range(0, 12, 2)), vendor_class)
    return found.name if found else None


def test_every_vendor_has_a_module_and_every_fact() -> None:
    assert {module.name for module in VENDORS} == set(VENDOR_NAMES) == set(SAMPLES)
    for table in (OUIS, VENDOR_CLASSES, FIRMWARE_VERSION_EXAMPLES):
        assert set(table) == set(VENDOR_NAMES)
    assert set(dhcp_vendors.VENDORS) == set(VENDOR_NAMES)


def test_ouis_are_six_hex_digits_each_of_one_vendor() -> None:
    every = [oui for ouis in OUIS.values() for oui in ouis]
    assert all(re.fullmatch("[0-9a-f]{6}", oui) for oui in every), every
    assert len(every) == len(set(every))


@pytest.mark.parametrize("name", VENDOR_NAMES)
def test_dhcp_and_user_agents_agree_on_whose_mac_it_is(name: str) -> None:
    known = [mac for _, _, mac in SAMPLES[name].values() if mac and mac[:6] in OUIS[name]]
    assert known, f"no {name} User-Agent sample carries a MAC under its OUIs"
    for mac in known:
        assert _dhcp_vendor(mac) == name
    for other in set(VENDOR_NAMES) - {name}:
        assert not {mac[:6] for mac in known} & set(OUIS[other])


@pytest.mark.parametrize("name", VENDOR_NAMES)
def test_dhcp_takes_the_vendor_class_and_every_oui(name: str) -> None:
    for text in VENDOR_CLASSES[name]:
        assert _dhcp_vendor("000000000000", f"{text} dslforum.org") == name
    for oui in OUIS[name]:
        assert _dhcp_vendor(oui + "000001") == name


def test_demo_devices_are_taken_for_their_vendor_by_dhcp() -> None:
    for index, model in enumerate(all_models(), start=1):
        assert _dhcp_vendor(demo_mac(index, model)) == model.vendor


def test_poe_only_vendors_are_desk_phone_vendors_of_the_model_table() -> None:
    assert set(VENDOR_NAMES) >= POE_ONLY_VENDORS
    for name in POE_ONLY_VENDORS:
        models = vendor(name).models.values()
        assert models
        assert all(model.kind is DeviceKind.PHONE for model in models)


@pytest.mark.parametrize("name", VENDOR_NAMES)
def test_firmware_examples_are_versions_of_their_vendor(name: str) -> None:
    example = FIRMWARE_VERSION_EXAMPLES[name]
    assert re.fullmatch(FIRMWARE_VERSION_PATTERN, example)
    assert str(parse_version(name, example)) == example
    firmware_seen = [firmware for _, firmware, _ in SAMPLES[name].values() if firmware]
    assert all(re.fullmatch(FIRMWARE_VERSION_PATTERN, text) for text in firmware_seen)


@pytest.mark.parametrize("module", VENDORS, ids=lambda module: module.name)
def test_each_vendor_refuses_the_characters_it_declares_unwritable(module: VendorModule) -> None:
    module.check_text("display_name", "山田 太郎")
    for char in module.unwritable_characters + "\n\x00":
        with pytest.raises(RenderError, match=r"^display_name: "):
            module.check_text("display_name", f"a{char}b")


def test_registry_refuses_what_any_vendor_cannot_write_and_the_api_pattern_agrees() -> None:
    assert UNWRITABLE_CHARACTERS == '"'
    refuse_unwritable_text("display_name", "山田 太郎")
    assert re.fullmatch(DISPLAY_NAME_PATTERN, "山田 太郎")
    for char in UNWRITABLE_CHARACTERS + "\t\x7f\ufffe":
        with pytest.raises(RenderError):
            refuse_unwritable_text("display_name", f"a{char}b")
        assert re.fullmatch(DISPLAY_NAME_PATTERN, f"a{char}b") is None


def test_importing_the_facts_takes_no_database_web_or_template_engine_in() -> None:
    heavy = ("sqlalchemy", "flask", "jinja2", "click", "pysnmp", "scapy")
    code = (
        "import sys, provisioner.vendors.facts, dhcp_opt66.vendors, firmware.versions\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r}))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert run.stdout.strip() == "[]"
