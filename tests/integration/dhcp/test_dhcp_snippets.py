"""Snippets for customers' DHCP servers, checked by the real servers' own syntax checks where
Debian has them (dnsmasq --test, kea-dhcp4 -t, dhcpd -t), golden text for Yamaha RTX and IOS."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from dhcp_opt66.snippets import snippet
from tests.unit.dhcp_opt66.test_dhcp_snippets import URL, VENDORS


def _checker(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found is None:
        pytest.fail(f"{name} is not installed: `make test` installs it (TEST_DEBS)")
    return found


def _accepted(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("vendor", VENDORS)
def test_dnsmasq_snippet_passes_dnsmasq_test(tmp_path: Path, vendor: str) -> None:
    conf = tmp_path / "dnsmasq.conf"
    conf.write_text(snippet(vendor, "dnsmasq", URL, with_160=True))
    _accepted([_checker("dnsmasq"), "--test", f"--conf-file={conf}"])


@pytest.mark.parametrize("vendor", VENDORS)
def test_kea_snippet_passes_kea_dhcp4_test(tmp_path: Path, vendor: str) -> None:
    text = snippet(vendor, "kea", URL, with_160=True)
    config = json.loads(text)
    (data,) = [c["option-data"] for c in config["Dhcp4"]["client-classes"]]
    assert {item["code"] for item in data} == {66, 160}
    conf = tmp_path / "kea-dhcp4.conf"
    conf.write_text(text)
    _accepted([_checker("kea-dhcp4"), "-t", str(conf)])


@pytest.mark.parametrize("vendor", VENDORS)
def test_isc_snippet_passes_dhcpd_test(tmp_path: Path, vendor: str) -> None:
    conf = tmp_path / "dhcpd.conf"
    conf.write_text(snippet(vendor, "isc", URL, with_160=True))
    leases = tmp_path / "dhcpd.leases"
    leases.touch()
    _accepted([_checker("dhcpd"), "-t", "-cf", str(conf), "-lf", str(leases)])


def test_a_broken_snippet_would_fail_the_checkers(tmp_path: Path) -> None:
    """The checkers above can fail: each rejects a damaged snippet."""
    bad = snippet("panasonic", "isc", URL).replace(";", "", 1)
    (tmp_path / "dhcpd.conf").write_text(bad)
    checked = subprocess.run(
        [_checker("dhcpd"), "-t", "-cf", str(tmp_path / "dhcpd.conf")], capture_output=True
    )
    assert checked.returncode != 0
    (tmp_path / "kea.conf").write_text(snippet("panasonic", "kea", URL).replace("160", "1600"))
    assert subprocess.run([_checker("kea-dhcp4"), "-t", str(tmp_path / "kea.conf")],
                          capture_output=True).returncode != 0  # fmt: skip
