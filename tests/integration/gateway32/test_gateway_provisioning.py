"""The provisioner side of gateways against a real ``provisioner serve --https``: the config
endpoint and its credentials, the gateway's fetcher and its last good copy, CDR upload."""

from __future__ import annotations

import json
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway32.cdr_upload import offset_file, rejected_file, upload_cdrs
from gateway32.licence import public_key_pem
from gateway32.provisioning import fetch_config
from gateway32.settings import Settings as GatewaySettings
from provisioner.db.models import STAFF_ROLES, ApiRole, DeviceState
from provisioner.db.session import Database
from provisioner.domain.access.tokens import create_token
from provisioner.domain.demo import DEMO_TENANT
from provisioner.domain.gateways import licences
from provisioner.domain.gateways.devices import get_gateway
from provisioner.domain.inventory import accounts, lifecycle
from provisioner.domain.inventory.lifecycle import Action
from provisioner.domain.inventory.lookup import timeline
from provisioner.secretbox import SecretBox
from tests.support.gateway_inventory import Gateway, add_gateway, tenant_named
from tests.support.ports import free_port
from tests.support.server import TEST_KEY, RunningServer, start_server, stop_server

OURS, THEIRS = "0011223344ab", "0011223344cd"
OUR_DID, THEIR_DID = "0399990001", "0699990002"


class Lab:
    """A serving provisioner (HTTP and HTTPS) with two tenants' gateways in its inventory."""

    def __init__(self, server: RunningServer, https_port: int) -> None:
        self.server = server
        self.https = f"https://127.0.0.1:{https_port}"
        self.ca_file = server.workdir / "demo-tls" / "cert.pem"
        self.db = Database(f"sqlite:///{server.workdir / 'inventory.db'}")
        self.box = SecretBox(TEST_KEY)
        with self.db.session() as session:
            ours = tenant_named(session, DEMO_TENANT)
            rival = tenant_named(session, "rival")
            accounts.create_account(session, self.box, rival, extension="3001",
                                    direct_number="", display_name="Rival")  # fmt: skip
            self.ours = add_gateway(session, self.box, OURS, ours, {OUR_DID: "1001"})
            self.theirs = add_gateway(session, self.box, THEIRS, rival, {THEIR_DID: "3001"})
            self.issuer_pem = licences.public_key(session, self.box)
            self.ours_tenant_id, self.rival_id = ours.id, rival.id
            self.tokens = {
                role: create_token(session, f"t-{role}", role)[1] for role in STAFF_ROLES
            }

    def gateway_settings(
        self, state_dir: Path, gateway: Gateway, **changes: str
    ) -> GatewaySettings:
        issuer = state_dir / "issuer.pem"
        if not issuer.exists():
            state_dir.mkdir(parents=True, exist_ok=True)
            issuer.write_text(self.issuer_pem)
        values = {
            "state_dir": str(state_dir),
            "issuer_key": str(issuer),
            "mac": gateway.mac,
            "provisioner_url": self.https,
            "http_user": gateway.http_user,
            "http_password": gateway.http_password,
            "ca_file": str(self.ca_file),
        }
        return GatewaySettings(**(values | changes))

    def api(self, path: str, role: ApiRole) -> tuple[int, object]:
        request = urllib.request.Request(  # noqa: S310 - loopback test server
            f"{self.server.http}/api/v1{path}",
            headers={"Authorization": f"Bearer {self.tokens[role]}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    workdir = tmp_path_factory.mktemp("gateways")
    https_port = free_port()
    server = start_server(workdir, f"sqlite:///{workdir / 'inventory.db'}",
                          "--https", f"127.0.0.1:{https_port}")  # fmt: skip
    built = Lab(server, https_port)
    try:
        yield built
    finally:
        built.db.dispose()
        stop_server(server)


def curl(url: str, *args: str) -> tuple[int, bytes, str]:
    """Status, body and the last response's headers, from the curl binary."""
    done = subprocess.run(
        ["curl", "-s", "-D", "-", "-o", "-", *args, url],
        capture_output=True, timeout=30, check=False,
    )  # fmt: skip
    head, _, body = done.stdout.rpartition(b"\r\n\r\n")
    last = head.rsplit(b"HTTP/", 1)[-1].decode("latin-1")
    return int(last.split()[1]), body, last


def config_url(lab: Lab, mac: str, https: bool = False) -> str:
    return f"{lab.https if https else lab.server.http}/gateway/{mac}/config.json"


def test_config_needs_the_gateways_own_credentials(served: Lab) -> None:
    status, _, headers = curl(config_url(served, OURS))
    assert status == 401
    assert 'www-authenticate: digest realm="provisioning"' in headers.lower()
    ours = served.ours
    assert curl(config_url(served, OURS), "--digest", "-u", f"{ours.http_user}:nope")[0] == 401
    theirs = f"{served.theirs.http_user}:{served.theirs.http_password}"
    assert curl(config_url(served, OURS), "--digest", "-u", theirs)[0] == 401
    # An unknown MAC is challenged like a known one: no oracle.
    status, _, headers = curl(config_url(served, "0011223344ef"))
    assert status == 401
    assert "Digest" in headers


def test_config_with_digest_holds_this_tenant_only(served: Lab) -> None:
    ours = served.ours
    status, body, headers = curl(
        config_url(served, OURS), "--digest", "-u", f"{ours.http_user}:{ours.http_password}"
    )
    assert status == 200, body
    assert "application/json" in headers
    document = json.loads(body)
    assert document["gateway"] == OURS
    assert document["tenant"] == DEMO_TENANT
    assert document["numbers"] == [{"did": OUR_DID, "destination": "1001"}]
    assert document["licence"]["licence"]["gateway"] == OURS
    assert document["trunk"] == {
        "host": "127.0.0.1", "port": 5070, "transport": "udp", "registration": None,
    }  # fmt: skip
    assert document["cores"] == [{"host": "127.0.0.1", "port": 5080}]
    text = body.decode()
    assert THEIR_DID not in text
    assert "rival" not in text
    assert served.theirs.http_password not in text


def test_basic_only_over_https(served: Lab) -> None:
    ours = f"{served.ours.http_user}:{served.ours.http_password}"
    assert (
        curl(config_url(served, OURS, https=True), "--cacert", str(served.ca_file), "-u", ours)[0]
        == 200
    )
    assert curl(config_url(served, OURS), "-u", ours)[0] == 401


def test_fetcher_writes_only_good_configs(served: Lab, tmp_path: Path) -> None:
    settings = served.gateway_settings(tmp_path / "state", served.ours)
    first = fetch_config(settings)
    assert first.ok, first.message
    assert first.updated
    written = settings.config_file.read_bytes()
    assert json.loads(written)["gateway"] == OURS
    again = fetch_config(settings)
    assert again.ok
    assert not again.updated
    # A gateway that trusts another issuer refuses the licence and keeps what it has.
    foreign = tmp_path / "foreign.pem"
    foreign.write_bytes(public_key_pem(Ed25519PrivateKey.generate()))
    refused = fetch_config(
        served.gateway_settings(tmp_path / "state", served.ours, issuer_key=str(foreign))
    )
    assert not refused.ok
    assert "signature does not match" in refused.message
    assert "keeping the last good configuration" in refused.message
    assert settings.config_file.read_bytes() == written
    # A server the CA file does not vouch for is not believed.
    stranger = fetch_config(
        served.gateway_settings(
            tmp_path / "state", served.ours, ca_file="/etc/ssl/certs/ca-certificates.crt"
        )
    )
    assert not stranger.ok
    assert "CERTIFICATE_VERIFY_FAILED" in stranger.message
    assert settings.config_file.read_bytes() == written


class _Garbage(BaseHTTPRequestHandler):
    """Answers 200 with a cut-off document, then with JSON nested 100,000 deep."""

    bodies: ClassVar[list[bytes]] = [b'{"gateway": "0011223344ab", "licence": ', b"[" * 100_000]

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.bodies.pop(0))

    def log_message(self, *_args: object) -> None:
        pass


def test_fetcher_keeps_the_last_good_copy_when_the_provisioner_is_garbage(
    served: Lab, tmp_path: Path
) -> None:
    settings = served.gateway_settings(tmp_path / "state", served.ours)
    assert fetch_config(settings).updated
    good = settings.config_file.read_bytes()
    garbage = ThreadingHTTPServer(("127.0.0.1", 0), _Garbage)
    thread = threading.Thread(target=garbage.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{garbage.server_address[1]}"
        elsewhere = served.gateway_settings(tmp_path / "state", served.ours, provisioner_url=url)
        cut_off, deep = fetch_config(elsewhere), fetch_config(elsewhere)
    finally:
        garbage.shutdown()
        garbage.server_close()
    assert not cut_off.ok
    assert "not JSON" in cut_off.message
    assert not deep.ok
    assert "nested too deep" in deep.message
    assert settings.config_file.read_bytes() == good


def test_fetcher_keeps_the_last_good_copy_when_the_provisioner_stops(tmp_path: Path) -> None:
    """Against its own ``provisioner serve --https``, stopped half way."""
    workdir = tmp_path / "server"
    workdir.mkdir()
    https_port = free_port()
    server = start_server(workdir, f"sqlite:///{workdir / 'inventory.db'}",
                          "--https", f"127.0.0.1:{https_port}")  # fmt: skip
    try:
        own = Lab(server, https_port)
        settings = own.gateway_settings(tmp_path / "state", own.ours)
        assert fetch_config(settings).updated
        good = settings.config_file.read_bytes()
        own.db.dispose()
    finally:
        stop_server(server)
    result = fetch_config(settings, timeout=3)
    assert not result.ok
    assert "provisioner unreachable" in result.message
    assert "keeping the last good configuration" in result.message
    assert settings.config_file.read_bytes() == good
    assert list(settings.state_path.glob(".config.json.*")) == []  # no temporary left behind


def _cdr(call_id: str, tenant: str = DEMO_TENANT, **changes: object) -> dict[str, object]:
    record: dict[str, object] = {
        "call_id": call_id, "direction": "inbound", "did": OUR_DID, "tenant": tenant,
        "from": "sip:0312345678@127.0.0.1", "to": "sip:1001@127.0.0.1",
        "start": "2026-12-01T19:00:00.123Z", "answer": "2026-12-01T19:00:02.000Z",
        "end": "2026-12-01T19:01:00.000Z", "result": "answered", "sip_code": 200,
        "q850": None, "channels_in_use": 1, "emergency": False,
    }  # fmt: skip
    return record | changes


def test_cdr_upload_survives_restarts_without_duplicates(served: Lab, tmp_path: Path) -> None:
    settings = served.gateway_settings(tmp_path / "state", served.ours)
    lines = [json.dumps(_cdr(f"call-{n}@gw")) for n in range(3)]
    settings.cdr_file.write_text("\n".join(lines) + "\n" + '{"call_id": "half-writ')
    first = upload_cdrs(settings)
    assert first.ok, first.message
    assert (first.accepted, first.duplicates) == (3, 0)
    assert upload_cdrs(settings).accepted == 0  # the offset is remembered
    # Died after the provisioner took the batch, before saving the offset: sent again, kept once.
    offset_file(settings).unlink()
    again = upload_cdrs(settings)
    assert (again.accepted, again.duplicates) == (0, 3)
    with settings.cdr_file.open("a") as handle:  # the half line is finished, one more follows
        handle.write('x"}\nnot json\n' + json.dumps(_cdr("call-3@gw")) + "\n")
    more = upload_cdrs(settings)
    assert more.ok, more.message
    assert (more.accepted, more.skipped, more.rejected) == (1, 1, 1)
    # The finished half line lacks fields: refused, set aside, not holding back call-3.
    assert "half-writx" in rejected_file(settings).read_text()
    status, page = served.api(f"/tenants/{served.ours_tenant_id}/cdrs", ApiRole.READONLY)
    assert status == 200
    assert isinstance(page, dict)
    assert page["total"] == 4
    assert {item["call_id"] for item in page["items"]} == {f"call-{n}@gw" for n in range(4)}
    assert page["items"][0]["from"] == "sip:0312345678@127.0.0.1"
    status, rival = served.api(f"/tenants/{served.rival_id}/cdrs", ApiRole.SUPPORT)
    assert status == 200
    assert rival == {"items": [], "total": 0}
    assert served.api(f"/tenants/{served.ours_tenant_id}/cdrs", ApiRole.WAREHOUSE)[0] == 403


def _post_cdrs(lab: Lab, gateway: Gateway, body: bytes) -> tuple[int, bytes]:
    status, answer, _ = curl(
        f"{lab.server.http}/gateway/{gateway.mac}/cdrs", "--digest",
        "-u", f"{gateway.http_user}:{gateway.http_password}",
        "-H", "Content-Type: application/json", "--data-binary", body.decode(),
    )  # fmt: skip
    return status, answer


def test_a_malformed_record_refuses_the_whole_batch(served: Lab) -> None:
    batch = [_cdr("bad-1@gw"), _cdr("bad-2@gw", start="yesterday"), _cdr("bad-3@gw")]
    status, answer = _post_cdrs(served, served.ours, json.dumps(batch).encode())
    assert status == 422
    refusal = json.loads(answer)
    assert refusal["record"] == 1
    message = refusal["error"]
    assert message.startswith("record 1: start")
    assert "nothing of this batch was stored" in message
    for body, expected in (
        (b"not json", 400),
        (b"[" * 100_000, 400),
        (json.dumps({"call_id": "x"}).encode(), 422),
        (json.dumps([_cdr("bad-4@gw", tenant="rival")]).encode(), 422),
        (json.dumps([_cdr("bad-5@gw", result="exploded")]).encode(), 422),
    ):
        assert _post_cdrs(served, served.ours, body)[0] == expected
    status, page = served.api(f"/tenants/{served.ours_tenant_id}/cdrs?limit=1000", ApiRole.ADMIN)
    assert status == 200
    assert isinstance(page, dict)
    assert not [i for i in page["items"] if str(i["call_id"]).startswith("bad-")]
    # Without credentials nothing is taken either.
    assert curl(f"{served.server.http}/gateway/{OURS}/cdrs", "--data-binary", "[]")[0] == 401


def test_a_shipped_gateways_first_config_fetch_installs_it(served: Lab) -> None:
    with served.db.session() as session:
        device = get_gateway(session, THEIRS)
        for action in (Action.STAGE, Action.SHIP):
            lifecycle.apply(session, served.box, device, action, actor="test")
    theirs = served.theirs
    creds = f"{theirs.http_user}:{theirs.http_password}"
    assert curl(config_url(served, THEIRS), "--digest", "-u", creds)[0] == 200
    with served.db.session() as session:
        device = get_gateway(session, THEIRS)
        assert device.state is DeviceState.INSTALLED
        events = [(e.kind, e.actor) for e in timeline(session, device)]
    assert ("state", "first config fetch from 127.0.0.1") in events
    assert curl(config_url(served, THEIRS), "--digest", "-u", creds)[0] == 200  # stays installed


def test_the_gateway_reports_its_trunk_registration_on_each_fetch(
    served: Lab, tmp_path: Path
) -> None:
    settings = served.gateway_settings(tmp_path / "gw", served.ours)
    refused = "not registered: the carrier answered 403"
    reports = [refused, refused, "registered"]
    for report in reports:
        assert fetch_config(settings, trunk_state=report).ok
    assert fetch_config(settings).ok  # a trunk without registration reports nothing
    with served.db.session() as session:
        events = [(e.kind, e.detail) for e in timeline(session, get_gateway(session, OURS))
                  if e.actor == "trunk registration"]  # fmt: skip
    assert list(reversed(events)) == [
        ("alert", "trunk not registered: the carrier answered 403"),
        ("registration", "trunk registered"),
    ]
    status, gateway = served.api(f"/gateways/{OURS}", ApiRole.READONLY)
    assert status == 200
    assert gateway["trunk_account"]["state"] == "registered"  # type: ignore[index]
