"""A phone behind an office NAT stays reachable: issue 19, "Done when" item 1.

A SIPp phone in a network namespace behind a masquerading router (UDP mappings forgotten after
``MAPPING`` seconds idle, conntrack set in the router's namespace) registers on the PBX core with
the credentials, server, local port and keep-alive interval of the file the provisioner renders
for it. After longer than the mapping lives it is called from the core's side. With the
keep-alives the file asks for, the call reaches it; without them the mapping is gone and the
same call does not. The router's timeout is scaled down (a real one: 30-120 s) so the test takes
about a minute; what it shows, an idle time longer than the mapping's life, is the same as
"5 minutes later" behind a real router. Keep-alives are sent as OPTIONS (the core answers them):
the mapping needs an outgoing packet of the flow at the interval, whatever its content.
"""

from __future__ import annotations

import math
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from provisioner.app.service import Service
from provisioner.pbx.core_config import CoreSettings, Peer, render_core_config
from provisioner.settings import Settings
from tests.support.netns import NatOffice, namespace_problem, nat_office, stop
from tests.support.paths import ROOT, SIPP
from tests.support.pbx_support import KAMAILIO, REALM, account_credentials, export
from tests.support.server import TEST_KEY
from tests.support.waiting import wait_until

PROBLEM = namespace_problem()
pytestmark = [
    pytest.mark.sip,
    pytest.mark.netns,
    pytest.mark.skipif(PROBLEM is not None, reason=f"no network namespaces: {PROBLEM}"),
]

MAPPING = 20  # seconds the router keeps an idle UDP mapping
# SIPp takes a request into a running scenario only by its Call-ID: the caller uses the phone's
# (a proxy passes it through), so the phone's one scenario registers, keeps alive and answers.
CALL_ID = "nat-%u@phone"
PHONE_MAC, CALLER_EXTENSION = "000b82bb0001", "2002"  # GXP2170 acme 2001; HT802 acme 2002


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The provisioner of these tests points devices at the core in the namespace."""
    return Settings(
        db=f"sqlite:///{tmp_path / 'inventory.db'}",
        secret_key=TEST_KEY,
        pbx_core=f"{NatOffice.CORE_IP}:5060",
    )


@dataclass(frozen=True)
class PhoneFile:
    server: str
    user: str
    password: str
    local_port: int
    keepalive: int  # seconds


def rendered(service: Service) -> PhoneFile:
    """What the device's own file tells it (account 1 of a GXP2170, v2 aliases)."""
    config = ET.fromstring(service.provisioner.preview(PHONE_MAC)).find("config")
    assert config is not None
    values = {item.get("name") or "": item.text or "" for item in config}
    assert values["account.1.network.natTraversal"] == "KeepAlive"
    return PhoneFile(
        values["account.1.sip.server.1.address"],
        values["account.1.sip.userid"],
        values["account.1.sip.subscriber.password"],
        int(values["account.1.sip.localPort"]),
        int(values["sip.keepAliveInterval"]),
    )


@pytest.fixture
def office(pbx_inventory: Service, tmp_path: Path) -> Iterator[NatOffice]:
    """The office, and the PBX core running in its namespace on the exported accounts."""
    with nat_office(MAPPING) as made:
        db_path = tmp_path / "pbx.sqlite"
        export(pbx_inventory, db_path)
        (tmp_path / "pbx-run").mkdir()
        cfg = tmp_path / "pbx.cfg"
        cfg.write_text(
            render_core_config(
                CoreSettings(
                    listen=Peer(NatOffice.CORE_IP, 5060),
                    realm=REALM,
                    db_path=db_path,
                    run_dir=tmp_path / "pbx-run",
                    children=2,
                )
            )
        )
        log = (tmp_path / "pbx.log").open("wb")
        core = made.core.popen(
            KAMAILIO, "-f", str(cfg), "-DD", "-E", "-m", "64", "-M", "8",
            "-Y", str(tmp_path / "pbx-run"), stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            probe = (
                "from tests.support.pbx_support import answers_options as up\n"
                f"raise SystemExit(0 if up(5060, {NatOffice.CORE_IP!r}) else 1)"
            )
            ready = wait_until(
                lambda: made.core.run(sys.executable, "-c", probe, cwd=ROOT).returncode == 0,
                timeout=20,
                interval=0.3,
            )
            assert ready, (tmp_path / "pbx.log").read_text()[-3000:]
            yield made
        finally:
            stop(core)


def phone_scenario(phone: PhoneFile, idle: float, keepalive: bool) -> str:
    """Register, stay idle ``idle`` seconds (sending a keep-alive every ``phone.keepalive``
    seconds, or nothing), then wait for the call and answer it."""
    rounds = math.ceil(idle / phone.keepalive)
    ping = """
  <send retrans="500"><![CDATA[

      OPTIONS sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:[service]@[remote_ip]>;tag=[pid]SIPpKa[call_number]
      To: <sip:[remote_ip]>
      Call-ID: [call_id]
      CSeq: [cseq] OPTIONS
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
  <recv response="200"/>"""
    idle_part = "".join(
        f'\n  <pause milliseconds="{phone.keepalive * 1000}"/>' + (ping if keepalive else "")
        for _ in range(rounds)
    )
    template = (SIPP / "pbx" / "nat_phone.xml").read_text()
    return template.replace("<!-- IDLE -->", idle_part)


def run_caller(office: NatOffice, workdir: Path, service: Service) -> str:
    """acme's 2002 calls 2001 through the core; the final status ("200" when answered)."""

    user, password = account_credentials(service, "acme", CALLER_EXTENSION)
    done = office.core.run(
        "sipp", f"{NatOffice.CORE_IP}:5060", "-sf", str(SIPP / "pbx" / "uac_phone_call.xml"),
        "-s", "2001", "-au", user, "-ap", password, "-key", "me", user, "-d", "300",
        "-i", NatOffice.CORE_IP, "-p", "5070", "-m", "1", "-nostdin", "-trace_logs",
        "-cid_str", CALL_ID,
        "-timeout", "15s", "-timeout_error", cwd=workdir, timeout=40,
    )  # fmt: skip
    logs = "".join(p.read_text() for p in workdir.glob("uac_phone_call_*_logs.log"))
    found = [line.split()[1] for line in logs.splitlines() if line.startswith("FINAL ")]
    assert done.returncode is not None
    return found[-1] if found else "no answer"


@pytest.mark.parametrize("keepalive", [True, False], ids=["keepalive", "no-keepalive"])
def test_a_phone_behind_nat_is_reached_after_its_mapping_would_have_expired(
    pbx_inventory: Service, office: NatOffice, tmp_path: Path, keepalive: bool
) -> None:
    phone = rendered(pbx_inventory)
    assert phone.server == NatOffice.CORE_IP
    assert phone.keepalive < MAPPING, "the rendered keep-alive must beat the router"
    idle = MAPPING + 8
    scenario = tmp_path / "nat_phone.xml"
    scenario.write_text(phone_scenario(phone, idle, keepalive))
    output = (tmp_path / "phone.out").open("w")
    process = office.phone.popen(
        "sipp", phone.server, "-sf", str(scenario), "-s", phone.user, "-au", phone.user,
        "-ap", phone.password, "-i", NatOffice.PHONE_IP, "-p", str(phone.local_port),
        "-m", "1", "-nostdin", "-trace_logs", "-timeout", f"{idle + 40}s", "-cid_str", CALL_ID,
        cwd=tmp_path, stdout=output, stderr=subprocess.STDOUT,
    )  # fmt: skip

    def log() -> str:
        return "".join(p.read_text() for p in tmp_path.glob("nat_phone_*_logs.log"))

    def phone_output() -> str:
        errors = "".join(p.read_text() for p in tmp_path.glob("nat_phone_*_errors.log"))
        return (tmp_path / "phone.out").read_text()[-2000:] + errors[-2000:]

    try:
        assert wait_until(lambda: "REGISTERED" in log(), timeout=15), phone_output()
        registered = time.monotonic()
        assert wait_until(lambda: "WAITING" in log(), timeout=idle + 20), log()
        assert time.monotonic() - registered > MAPPING  # longer than the mapping lives idle
        answered = run_caller(office, tmp_path, pbx_inventory)
        if keepalive:
            assert answered == "200"
            assert wait_until(lambda: "ANSWERED" in log(), timeout=10), log()
        else:
            assert answered != "200"
            assert "INVITE for" not in log()
    finally:
        stop(process)
