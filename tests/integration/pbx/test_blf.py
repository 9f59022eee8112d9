"""BLF on the shared PBX core (issue 15): a phone's SUBSCRIBE (Event: dialog) to an extension of
its own tenant gets 200 and a NOTIFY (dialog-info+xml) as that extension's call rings, is
answered and hangs up; a SUBSCRIBE to an extension of another tenant is refused."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from provisioner.app.service import Service
from tests.support.paths import SIPP
from tests.support.pbx_support import (
    Core,
    _final,
    account_credentials,
    call_out,
    register,
    watch,
)
from tests.support.ports import free_udp_port
from tests.support.waiting import wait_until

pytestmark = pytest.mark.sip


def test_a_watcher_sees_the_watched_extension_ring_answer_and_hang_up(
    pbx_inventory: Service, pbx_core: Core, tmp_path: Path
) -> None:
    callee, callee_password = account_credentials(pbx_inventory, "acme", "2001")
    phone_port = free_udp_port()
    answering = subprocess.Popen(
        ["sipp", "-sf", str(SIPP / "pbx" / "uas_phone.xml"), "-i", "127.0.0.1",
         "-p", str(phone_port), "-m", "1", "-nostdin"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert register(tmp_path, pbx_core.port, callee, callee_password, phone_port) == "200"
        watcher_user, watcher_password = account_credentials(pbx_inventory, "acme", "2002")
        watcher = watch(tmp_path, pbx_core.port, watcher_user, watcher_password, "2001")
        assert wait_until(watcher.subscribed, timeout=15), "no 200 for the SUBSCRIBE"
        assert call_out(tmp_path, pbx_core.port, watcher_user, watcher_password, "2001") == "200"
        assert wait_until(lambda: len(watcher.states()) >= 3, timeout=15), watcher.states()
        assert watcher.states() == ["early", "confirmed", "terminated"]
        watcher.stop()
    finally:
        answering.kill()
        answering.wait(timeout=10)


def test_a_subscription_to_another_tenants_extension_is_refused(
    pbx_inventory: Service, pbx_core: Core, tmp_path: Path
) -> None:
    stranger, password = account_credentials(pbx_inventory, "other", "2001")
    args = [f"127.0.0.1:{pbx_core.port}", "-au", stranger, "-ap", password, "-key", "me", stranger]
    assert _final(tmp_path, "subscribe_dialog.xml", ["-s", "2002", *args]) == "403"
    assert _final(tmp_path, "subscribe_dialog.xml", ["-s", "0312345001", *args]) == "403"
