"""The systemd units in deploy/systemd: ``systemd-analyze verify`` finds nothing to say about
any of them, each runs as its own user with only the capabilities it needs, and
``systemd-analyze security`` rates each at most "OK"."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT

UNITS = sorted((ROOT / "deploy" / "systemd").glob("*.service"))
INSTALLED_VENV = "/opt/provisioner/.venv"  # where the units expect the service installed
NEEDED_CAPABILITIES = {
    "provisioner.service": {"CAP_NET_BIND_SERVICE"},  # HTTP 80, TFTP 69
    "provisioner-pbx-export.service": set(),
    "gateway32.service": set(),
    "dhcp-opt66-bench.service": {"CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_NET_ADMIN"},
}
MAX_EXPOSURE = 3.0  # systemd-analyze security: below 4.0 is "OK"


def analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        pytest.fail("systemd-analyze missing: `make test` installs Debian's systemd")
    return found


@pytest.fixture(scope="module")
def here(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The units with this checkout's venv in place of the installed one: verify checks that
    every ExecStart program exists."""
    directory = tmp_path_factory.mktemp("units")
    venv = str(Path(sys.executable).parent.parent)
    copies = []
    for unit in UNITS:
        copy = directory / unit.name
        copy.write_text(unit.read_text().replace(INSTALLED_VENV, venv))
        copies.append(copy)
    return copies


def test_every_unit_is_known() -> None:
    assert {unit.name for unit in UNITS} == set(NEEDED_CAPABILITIES)


def test_systemd_analyze_verify_has_nothing_to_say(here: list[Path]) -> None:
    done = subprocess.run(
        [analyze(), "verify", *map(str, here)], capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    # Unknown keys and unparsable values are only warnings (exit status 0): refuse them too.
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.name)
def test_each_unit_is_hardened(unit: Path) -> None:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(unit.read_text())
    service = parser["Service"]
    assert service["User"] not in ("", "root")
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert set(service["CapabilityBoundingSet"].split()) == NEEDED_CAPABILITIES[unit.name]
    assert set(service.get("AmbientCapabilities", "").split()) == NEEDED_CAPABILITIES[unit.name]


def test_security_exposure_is_low(here: list[Path]) -> None:
    for unit in here:
        done = subprocess.run(
            [analyze(), "security", "--offline=yes", str(unit)], capture_output=True, text=True,
            timeout=60, check=False,
        )  # fmt: skip
        score = re.search(r"Overall exposure level for \S+: ([0-9.]+)", done.stdout)
        assert score is not None, done.stdout + done.stderr
        assert float(score.group(1)) <= MAX_EXPOSURE, (unit.name, done.stdout)
