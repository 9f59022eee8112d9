"""A simulated fleet against a real ``provisioner serve``: devices fetch their config over HTTP
with a User-Agent that reports their firmware, follow the firmware fields they are told,
download the image named there and report the new version. They walk a three-step path, a
canary wave first and the rest after a release; a device that never changes version is held
by loop detection and its wave pauses itself.
"""

from __future__ import annotations

import json
import random
import re
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.support.server import RunningServer, start_firmware_server, stop_server
from tests.support.waiting import wait_until

PATH = ("1.0.5.32", "1.0.9.103", "1.0.11.79")
START = "1.0.3.1"
MACS = [f"c074ad7700{n:02x}" for n in range(1, 7)]
CANARIES, REST = MACS[:2], MACS[2:5]
LOOPER = MACS[5]
# GXP2170: the firmware path and check condition as v2 aliases (P192 and P238; docs/vendors.md).
FIRMWARE_PATH = re.compile(
    r'<item name="provisioning.firmware.serverPath">[^/<]+/firmware(?:/(?P<dir>[^<]+))?</item>'
)
CHECK = '<item name="provisioning.firmware.checkCondition">{}</item>'


@dataclass
class Fleet:
    server: RunningServer
    images: dict[str, bytes]  # version -> bytes


def _cli(server: RunningServer, *args: str) -> str:
    result = server.cli(*args)
    assert result.returncode == 0, result.stderr.decode() + result.stdout.decode()
    return result.stdout.decode()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    workdir = tmp_path_factory.mktemp("firmware-fleet")
    server = start_firmware_server(workdir)
    try:
        rows = ["tenant,extension,direct_number,display_name,mac,model,port"]
        rows += [f"fleet,{2000 + n},,Phone {n},{mac},GXP2170,1" for n, mac in enumerate(MACS)]
        (workdir / "fleet.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
        _cli(server, "import", str(workdir / "fleet.csv"))
        images = {}
        floor = None
        for version in PATH:
            data = random.Random(version).randbytes(200_000)
            images[version] = data
            (workdir / "image.bin").write_bytes(data)
            args = ["--min-version", floor] if floor else []
            _cli(server, "firmware", "import", str(workdir / "image.bin"), "--vendor",
                 "grandstream", "--model", "GXP2170", "--version", version, *args)  # fmt: skip
            floor = version
        yield Fleet(server, images)
    finally:
        stop_server(server)


def _agent(mac: str, version: str) -> str:
    return f"Grandstream Model HW GXP2170 SW {version} DevId {mac}"


def _get(url: str, user_agent: str) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": user_agent})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return response.read()


def told(fleet: Fleet, mac: str, version: str) -> str | None:
    """Fetch the config as the device would; the directory of the image it is told to get."""
    body = _get(f"{fleet.server.http}/cfg{mac}.xml", _agent(mac, version)).decode()
    upgrade = CHECK.format(0) in body
    assert upgrade or CHECK.format(2) in body
    found = FIRMWARE_PATH.search(body)
    assert found is not None
    if not upgrade:
        assert found["dir"] is None  # no image named when it is not to upgrade
        return None
    return found["dir"]


def upgrade_once(fleet: Fleet, mac: str, version: str, install: bool = True) -> str:
    """One boot: fetch the config, download the named image, install it (or fail to)."""
    directory = told(fleet, mac, version)
    assert directory is not None, f"{mac} at {version} was told not to upgrade"
    data = _get(f"{fleet.server.http}/firmware/{directory}/gxp2170fw.bin", _agent(mac, version))
    offered = directory.split("-")[1]
    assert data == fleet.images[offered]
    return offered if install else version


def walk(fleet: Fleet, mac: str) -> list[str]:
    version, walked = START, []
    while (directory := told(fleet, mac, version)) is not None:
        assert len(walked) < len(PATH), walked
        version = upgrade_once(fleet, mac, version)
        walked.append(version)
        assert directory.startswith(f"grandstream-{version}-")
    return walked


def _api_token(server: RunningServer) -> str:
    return _cli(server, "token", "create", "fleet-reader", "--role", "readonly").strip()


def _api(server: RunningServer, token: str, path: str) -> dict[str, object]:
    request = urllib.request.Request(  # noqa: S310
        f"{server.http}/api/v1{path}", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())


def test_fleet_walks_canaries_first_then_the_rest_and_a_looper_is_held(fleet: Fleet) -> None:
    server = fleet.server
    for mac in MACS:  # before any rollout: every device is told not to upgrade
        assert told(fleet, mac, START) is None
    canary_args = [arg for mac in CANARIES for arg in ("--canary", mac)]
    _cli(server, "firmware", "rollout", "create", "fleet", "--model", "GXP2170",
         "--target", PATH[-1], "--via", PATH[0], "--via", PATH[1], *canary_args,
         "--loop-limit", "3", "--failure-threshold", "10")  # fmt: skip
    assert wait_until(lambda: told(fleet, CANARIES[0], START) is not None, 15, interval=0.2)

    # Wave 1: the canaries walk the whole path, one required step per boot.
    for mac in CANARIES:
        assert walk(fleet, mac) == list(PATH)
    for mac in [*REST, LOOPER]:
        assert told(fleet, mac, START) is None  # the rest wait for the release
    assert wait_until(
        lambda: "at_target 2" in _cli(server, "firmware", "rollout", "progress", "fleet"),
        15,
        interval=0.2,
    )
    shown = _cli(server, "firmware", "rollout", "progress", "fleet")
    assert "2/7" in shown  # the demo's own GXP2170 counts too: it never said its version
    assert "at_target 2, unknown_version 1, waiting 4" in shown

    # Wave 2, by command.
    _cli(server, "firmware", "rollout", "release", "fleet")
    assert wait_until(lambda: told(fleet, REST[0], START) is not None, 15, interval=0.2)
    for mac in REST:
        assert walk(fleet, mac) == list(PATH)

    # The looper downloads its first step but keeps booting the old version.
    for _ in range(3):
        assert upgrade_once(fleet, LOOPER, START, install=False) == START
    assert wait_until(lambda: told(fleet, LOOPER, START) is None, 15, interval=0.2)
    status = _cli(server, "firmware", "status", LOOPER)
    assert "status: held" in status
    timeline = _cli(server, "device", "show", LOOPER)
    assert "firmware loop" in timeline

    # One looper in a wave of five (the demo's device is in it) is over 10 %: paused itself.
    token = _api_token(server)
    assert wait_until(
        lambda: _api(server, token, "/firmware/rollouts/fleet")["state"] == "paused",
        15,
        interval=0.2,
    )
    progress = _api(server, token, "/firmware/rollouts/fleet")
    assert "wave rest: 1 of 5 devices loop" in str(progress["paused_reason"])
    assert (progress["total"], progress["at_target"]) == (7, 5)
    assert progress["counts"] == {"at_target": 5, "held": 1, "unknown_version": 1}
    device = _api(server, token, f"/devices/{CANARIES[0]}/firmware")
    assert device == {"reported": PATH[-1], "target": PATH[-1], "next_step": None,
                      "at_target": True, "status": "at_target"}  # fmt: skip


def test_removing_an_image_in_use_is_refused(fleet: Fleet) -> None:
    server = fleet.server
    _cli(server, "firmware", "rollout", "create", "keeper", "--model", "GXP2170",
         "--target", PATH[0], "--device", MACS[0])  # fmt: skip
    image_id = next(
        line.split()[0] for line in _cli(server, "firmware", "list").splitlines()
        if f" {PATH[0]} " in line
    )  # fmt: skip
    refused = server.cli("firmware", "remove", image_id)
    assert refused.returncode != 0
    assert b"used by" in refused.stderr
    assert b"keeper" in refused.stderr
    assert image_id in _cli(server, "firmware", "list")
    _cli(server, "firmware", "rollout", "delete", "keeper")
    assert "keeper" not in _cli(server, "firmware", "rollout", "list")


def test_bad_rollouts_are_refused_with_a_reason(fleet: Fleet) -> None:
    server = fleet.server
    cases = {
        ("--target", "1.0.11.79", "--via", "1.0.5.32"): b"installs only over 1.0.9.103",
        ("--target", "1.0.9.103", "--via", "1.0.11.79"): b"must be above every --via",
        ("--target", "1.0.5.32", "--tenant", "nobody"): b"no tenant 'nobody'",
        ("--target", "1.0.5.32", "--hw-rev", "V2", "--loop-limit", "1"): b"loop-limit",
        ("--target", "9.9.9.9"): b"no grandstream image for GXP2170 at version 9.9.9.9",
        ("--target", "1.0.5.32", "--canary", "zz"): b"bad MAC",
    }
    for args, message in cases.items():
        result = server.cli("firmware", "rollout", "create", "bad", "--model", "GXP2170", *args)
        assert result.returncode != 0
        assert message in result.stderr, result.stderr
    assert "bad" not in _cli(server, "firmware", "rollout", "list")
