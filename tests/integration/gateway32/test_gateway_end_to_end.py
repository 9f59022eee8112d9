"""End to end: a phone provisioned by the provisioner is called through gateway32.

The provisioner renders the GXP2170's file; the SIP credentials are parsed from that file; a SIPp
phone registers with them on the Kamailio PBX core whose tables ``provisioner pbx export`` wrote;
the gateway fetches its config.json from ``provisioner serve --https``; a carrier-side SIPp UAC
calls the ported number through gateway32, the phone rings and answers; the gateway's CDR is
uploaded and read back from the provisioner's API.
"""

from __future__ import annotations

import contextlib
import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway32.cdr_upload import upload_cdrs
from gateway32.provisioning import fetch_config
from gateway32.settings import Settings as GatewaySettings
from provisioner.db.models import ApiRole
from provisioner.db.session import Database
from provisioner.domain.access.tokens import create_token
from provisioner.domain.demo import DEMO_TENANT, demo_mac
from provisioner.domain.gateways import licences
from provisioner.pbx.core_config import Peer
from provisioner.secretbox import SecretBox
from provisioner.vendors import all_models
from tests.support.gateway_engine import Issuer, RunningGateway, running_gateway
from tests.support.gateway_inventory import add_gateway, tenant_named
from tests.support.grandstream_file import account, settings
from tests.support.pbx_support import REALM, SCENARIOS, Core, call_out, register, start_core
from tests.support.ports import free_port, free_udp_port
from tests.support.server import TEST_KEY, RunningServer, start_server, stop_server
from tests.support.sip_harness import SipLab

pytestmark = pytest.mark.sip

GATEWAY = "0011223344ab"
DID = "0398760001"
PHONE_MODEL = "GXP2170"


def _phone_mac() -> str:
    index, model = next((i, m) for i, m in enumerate(all_models(), 1) if m.model == PHONE_MODEL)
    return demo_mac(index, model)


class Site:
    """Ports chosen up front: the core must trust the gateway's address before either runs."""

    def __init__(self) -> None:
        self.core = free_udp_port()
        self.gateway = free_udp_port()
        self.carrier = free_udp_port()
        self.phone = free_udp_port()
        self.https = free_port()


@pytest.fixture(scope="module")
def site() -> Site:
    return Site()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="module")
def provisioner_server(workdir: Path, site: Site) -> Iterator[RunningServer]:
    workdir = workdir / "provisioner"
    workdir.mkdir()
    server = start_server(
        workdir, f"sqlite:///{workdir / 'inventory.db'}", "--https", f"127.0.0.1:{site.https}",
        env_extra={"PROVISIONER_PBX_CORE": f"127.0.0.1:{site.core}"},
    )  # fmt: skip
    try:
        yield server
    finally:
        stop_server(server)


@pytest.fixture(scope="module")
def core(workdir: Path, provisioner_server: RunningServer, site: Site) -> Iterator[Core]:
    db_path = workdir / "pbx.sqlite"
    with _database(provisioner_server) as (db, box), db.session() as session:
        tenant = tenant_named(session, DEMO_TENANT)
        trunk, cores = f"127.0.0.1:{site.carrier}", (f"127.0.0.1:{site.core}",)
        add_gateway(session, box, GATEWAY, tenant, {DID: "1001"}, trunk=trunk, cores=cores)
    done = provisioner_server.cli("pbx", "export", "--to", str(db_path), "--realm", REALM)
    assert done.returncode == 0, done.stderr
    gateway = Peer("127.0.0.1", site.gateway, tenant=DEMO_TENANT)
    running = start_core(workdir, db_path, gateways=(gateway,), port=site.core)
    try:
        yield running
    finally:
        running.stop()


class _database:
    """The server's inventory, opened beside it (as an operator's script would)."""

    def __init__(self, server: RunningServer) -> None:
        self.db = Database(f"sqlite:///{server.workdir / 'inventory.db'}")

    def __enter__(self) -> tuple[Database, SecretBox]:
        return self.db, SecretBox(TEST_KEY)

    def __exit__(self, *exc: object) -> None:
        self.db.dispose()


def _account_from_file(server: RunningServer) -> dict[str, str]:
    """Line 1 of the phone's own file, as the phone reads it: user, auth ID, password, server."""
    url = f"{server.http}/cfg{_phone_mac()}.xml"
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - loopback
        _, values = settings(answer.read())
    return account(values, 1)


@dataclass
class Provisioned:
    gateway: RunningGateway
    settings: GatewaySettings  # the gateway's, pointing at the provisioner
    token: str  # a support token of the provisioner's API
    tenant_id: int


@contextlib.contextmanager
def gateway_from_provisioner(
    server: RunningServer, state: Path, site: Site
) -> Iterator[Provisioned]:
    """gateway32 running on the config.json it fetched from the provisioner over HTTPS."""
    state.mkdir()
    with _database(server) as (db, box), db.session() as session:
        issuer_pem = state / "issuer.pem"
        issuer_pem.write_text(licences.public_key(session, box))
        issuer = Issuer(licences.issuer_key(session, box), issuer_pem)
        token = create_token(session, f"e2e-{state.parent.name}", ApiRole.SUPPORT)[1]
        tenant_id = tenant_named(session, DEMO_TENANT).id
    settings = _gateway_settings(server, state, issuer_pem, site)
    fetched = fetch_config(settings)
    assert fetched.ok, fetched.message
    config = json.loads(settings.config_file.read_text())
    with running_gateway(issuer, config, sip_port=site.gateway) as gateway:
        yield Provisioned(gateway, settings, token, tenant_id)


def _cdrs_in_the_api(server: RunningServer, provisioned: Provisioned) -> list[dict[str, object]]:
    """Upload what the gateway wrote, then read those CDRs back from the API."""
    gateway = provisioned.gateway
    settings = GatewaySettings(
        **(vars(provisioned.settings) | {"state_dir": str(gateway.state_dir)})
    )
    uploaded = upload_cdrs(settings)
    assert uploaded.ok, uploaded.message
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{server.http}/api/v1/tenants/{provisioned.tenant_id}/cdrs",
        headers={"Authorization": f"Bearer {provisioned.token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        page = json.loads(answer.read())
    assert page["total"] == len(page["items"])
    ours = {record["call_id"] for record in gateway.cdrs()}  # this test's gateway run
    return [item for item in page["items"] if item["call_id"] in ours]


def test_a_carrier_call_rings_the_provisioned_phone_through_the_gateway(
    tmp_path: Path, provisioner_server: RunningServer, core: Core, site: Site
) -> None:
    account = _account_from_file(provisioner_server)
    assert account["server"] == f"127.0.0.1:{site.core}"
    with SipLab(tmp_path / "sip") as lab:
        phone = lab.uas(str(SCENARIOS / "uas_phone.xml"), port=site.phone)
        status = register(tmp_path, site.core, account["auth"], account["password"], site.phone)
        assert status == "200"
        with gateway_from_provisioner(provisioner_server, tmp_path / "gw", site) as provisioned:
            gateway = provisioned.gateway
            carrier = lab.uac(gateway.address, "uac_limit.xml", calls=1, hold_ms=500,
                              service=DID, port=site.carrier)  # fmt: skip
            assert carrier.answered == 1, carrier.describe() + gateway.log()
            phone_log = "".join(p.read_text() for p in phone.workdir.glob("*_logs.log"))
            assert f"INVITE for {account['user']} " in phone_log
            assert "ANSWERED" in phone_log
            assert [r["result"] for r in gateway.wait_cdrs(1)] == ["answered"]
            (cdr,) = _cdrs_in_the_api(provisioner_server, provisioned)
    assert cdr["gateway"] == GATEWAY
    assert cdr["did"] == DID
    assert cdr["direction"] == "inbound"
    assert cdr["result"] == "answered"
    assert cdr["answer"] is not None


def test_the_phone_calls_out_and_dials_110_over_the_legacy_line(
    tmp_path: Path, provisioner_server: RunningServer, core: Core, site: Site
) -> None:
    """Outside numbers and emergency calls leave the core through the tenant's gateway, with
    the ported number that maps to the phone's extension as the caller ID."""
    account = _account_from_file(provisioner_server)
    with SipLab(tmp_path / "sip") as lab:
        carrier = lab.uas("uas_answer.xml", port=site.carrier)
        with gateway_from_provisioner(provisioner_server, tmp_path / "gw", site) as provisioned:
            for number in ("0455556666", "110"):
                status = call_out(tmp_path, site.core, account["auth"], account["password"], number)
                assert status == "200", provisioned.gateway.log()
            provisioned.gateway.wait_cdrs(2)
            cdrs = _cdrs_in_the_api(provisioner_server, provisioned)
        seen = carrier.stop().events("invite")
    assert [event["ruri"].split("@")[0] for event in seen] == ["sip:0455556666", "sip:110"]
    assert all(f"sip:{DID}@" in event["from"] for event in seen)  # 1001's ported number
    # A wrong password gets nowhere.
    assert call_out(tmp_path, site.core, account["auth"], "wrong", "0455556666") != "200"
    by_number = {str(c["to"]).split("@")[0]: c for c in cdrs}
    assert by_number["sip:110"]["emergency"] is True
    assert {c["direction"] for c in cdrs} == {"outbound"}
    assert {c["result"] for c in cdrs} == {"answered"}


def _gateway_settings(
    server: RunningServer, state: Path, issuer_pem: Path, site: Site
) -> GatewaySettings:
    """What ``provisioner gateway credentials`` prints, plus the local paths."""
    done = server.cli("gateway", "credentials", GATEWAY)
    assert done.returncode == 0, done.stderr
    pairs = (line.split("=", 1) for line in done.stdout.decode().splitlines())
    values = {key.strip(): value.strip().strip('"') for key, value in pairs}
    return GatewaySettings(
        state_dir=str(state),
        issuer_key=str(issuer_pem),
        mac=values["mac"],
        provisioner_url=f"https://127.0.0.1:{site.https}",
        http_user=values["http_user"],
        http_password=values["http_password"],
        ca_file=str(server.workdir / "demo-tls" / "cert.pem"),
    )
