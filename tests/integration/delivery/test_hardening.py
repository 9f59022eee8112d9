"""Issue 17's attacks, each reproduced with a real peer against ``provisioner serve``, and
what each now gets: forged UDP, User-Agent claims, ranged image downloads, long fields, MAC
timing, a NAT office with a guesser inside, a NOTIFY aimed elsewhere, a Digest answer for
another URI (docs/security.md, "Threat model").

The staging network is 127.0.0.2/32 only: 127.0.0.1 is a customer's office, other loopback
addresses play attackers. Each test uses a device of its own, so their timelines stay apart.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import event, select
from werkzeug.serving import make_server

from provisioner.app.service import Service, open_service
from provisioner.db.firmware import FirmwareDevice
from provisioner.db.models import Device, DeviceEvent, Lockout, utcnow
from provisioner.db.session import Database
from provisioner.domain.delivery.resync import registered_contact
from provisioner.domain.inventory.sheet import import_sheet, sheet_rows
from provisioner.domain.timeline import Event, EventKind, TimelineWriter
from provisioner.secretbox import SecretBox
from provisioner.settings import Settings
from provisioner.web import create_app
from tests.integration.delivery.test_secure_delivery import credentials, curl, demo_mac_of
from tests.support.digest import digest_header
from tests.support.netns import lan, namespace_problem
from tests.support.ports import free_port
from tests.support.server import TEST_KEY, RunningServer, start_server, stop_server
from tests.support.waiting import wait_until

BENCH, OFFICE, ATTACKER = "127.0.0.2", "127.0.0.1", "127.0.0.66"
CAPACITY = 100  # tokens: 10 unknown names, or 5 rounds of a challenge and a wrong answer
IMAGE = random.Random(17).randbytes(100_000)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("hardening")
    running = start_server(
        workdir,
        f"sqlite:///{workdir / 'inventory.db'}",
        env_extra={
            "PROVISIONER_STAGING_NETWORKS": f"{BENCH}/32",
            "PROVISIONER_RATE_CAPACITY": str(CAPACITY),
            "PROVISIONER_RATE_REFILL": "0.1",
            "PROVISIONER_LOCKOUT_SECONDS": "600",
            "PROVISIONER_FIRMWARE_DIR": str(workdir / "store"),
        },
    )
    yield running
    stop_server(running)


def db(server: RunningServer) -> Database:
    return Database(f"sqlite:///{server.workdir / 'inventory.db'}")


def digest_fetch(server: RunningServer, mac: str, source: str, *args: str) -> int:
    user, password = credentials(server, mac)
    return curl(f"{server.http}/cfg{mac}.xml", "--digest", "-u", f"{user}:{password}", *args,
                source=source)[0]  # fmt: skip


def timeline(server: RunningServer, mac: str) -> list[DeviceEvent]:
    database = db(server)
    with database.session() as session:
        found = list(
            session.scalars(
                select(DeviceEvent).join(Device).where(Device.mac == mac).order_by(DeviceEvent.id)
            )
        )
        session.expunge_all()
    database.dispose()
    return found


# --- 1: forged UDP never denies HTTP ------------------------------------------------------


def forged_rrq(source: str, port: int, target_port: int, name: str) -> None:
    """A TFTP read request whose IPv4 header claims ``source``: nobody needs that address."""
    payload = b"\x00\x01" + name.encode() + b"\x00octet\x00"
    udp = struct.pack("!HHHH", port, target_port, 8 + len(payload), 0) + payload  # no checksum
    header = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        20 + len(udp),
        0,
        0,
        64,
        socket.IPPROTO_UDP,
        0,
        socket.inet_aton(source),
        socket.inet_aton("127.0.0.1"),
    )  # fmt: skip  (the kernel fills the length, id and checksum)
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) as raw:
        raw.sendto(header + udp, ("127.0.0.1", 0))


def test_forged_tftp_requests_lock_out_tftp_only_never_http(served: RunningServer) -> None:
    victim, mac = "127.0.0.5", demo_mac_of("GXP1610")
    for index in range(31):  # the report's 31 packets: 10 tokens each, 100 in the bucket
        forged_rrq(victim, 40_000 + index, served.tftp_port, f"scan{index}.php")
    time.sleep(1.5)  # every worker reads the shared lockouts at most a second old
    tftp = subprocess.run(
        ["curl", "-s", "--interface", victim, f"tftp://127.0.0.1:{served.tftp_port}/KX-HDV230.cfg"],
        capture_output=True, timeout=30, check=False,
    )  # fmt: skip
    assert tftp.returncode != 0  # the forged datagrams did lock the address out of TFTP
    assert curl(f"{served.http}/cfg.xml", source=victim)[0] == 404  # not 429: HTTP is untouched
    assert digest_fetch(served, mac, victim) == 200
    database = db(served)
    with database.session() as session:  # never published: a restart forgets it
        assert session.scalars(select(Lockout).where(Lockout.source == victim)).all() == []
    database.dispose()


# --- 2: a User-Agent claim moves nothing ------------------------------------------------------


def test_a_user_agent_naming_a_mac_is_attributed_to_no_device(served: RunningServer) -> None:
    mac = demo_mac_of("KX-HDV230")
    user, password = credentials(served, mac)
    honest = f"Panasonic_KX-HDV230/01.000 ({mac})"
    url = f"{served.http}/Config{mac.upper()}.cfg"
    assert curl(url, "--digest", "-u", f"{user}:{password}", "-A", honest)[0] == 200
    claim = f"Panasonic_KX-HDV230/99.999 ({mac})"
    assert curl(f"{served.http}/KX-HDV230.cfg", "-A", claim, source=ATTACKER)[0] == 200  # public
    time.sleep(1.5)  # the timeline writer's batches
    events = timeline(served, mac)
    assert [e for e in events if e.source == ATTACKER] == []
    assert any(e.source == OFFICE and e.kind == EventKind.FETCH for e in events)
    database = db(served)
    with database.session() as session:
        device = session.scalars(select(Device).where(Device.mac == mac)).one()
        assert device.firmware_version == "01.000"  # not the claimed 99.999
        contact = registered_contact(session, device.id)
        assert contact is not None
        assert contact.host == OFFICE  # the next NOTIFY goes to the phone, not the claimer
    database.dispose()


# --- 3: a ranged or claimed image download holds nothing ----------------------------------


def test_ranged_and_claimed_image_downloads_hold_no_device(
    served: RunningServer, tmp_path: Path
) -> None:
    mac = demo_mac_of("GXP2170")
    (tmp_path / "image.bin").write_bytes(IMAGE)
    imported = served.cli("firmware", "import", str(tmp_path / "image.bin"), "--vendor",
                          "grandstream", "--model", "GXP2170", "--version", "1.0.11.79",
                          )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    name = f"grandstream-1.0.11.79-{hashlib.sha256(IMAGE).hexdigest()[:12]}.bin"
    image_url = f"{served.http}/firmware/{name}"
    agent = f"Grandstream Model HW GXP2170 SW 1.0.3.1 DevId {mac}"
    for _ in range(3):  # the report's attack: one-byte probes naming the device
        assert curl(image_url, "-A", agent, "-r", "0-0", source=ATTACKER)[0] == 206
    for _ in range(3):  # whole downloads, but from where the device never proved itself
        assert curl(image_url, "-A", agent, source=ATTACKER)[0] == 200
    assert digest_fetch(served, mac, OFFICE, "-A", agent) == 200  # the device, at the office
    for _ in range(3):  # its own probes are not attempts either
        assert curl(image_url, "-A", agent, "-r", "0-0")[0] == 206
    time.sleep(1.5)

    def held() -> bool:
        database = db(served)
        with database.session() as session:
            row = session.scalars(
                select(FirmwareDevice).join(Device).where(Device.mac == mac)
            ).first()
            result = row is not None and row.held
        database.dispose()
        return result

    assert not held()
    assert not [e for e in timeline(served, mac) if e.kind == EventKind.DOWNLOAD]
    for _ in range(3):  # three whole downloads from the device's own address: a real loop
        assert curl(image_url, "-A", agent)[0] == 200
    assert wait_until(held, 10)


# --- 5: every stored field bounded; one bad row never sinks a batch -----------------------


def test_a_long_user_agent_is_stored_cut_to_its_column(served: RunningServer) -> None:
    mac = demo_mac_of("GXP1628")
    agent = f"Grandstream Model HW GXP1628 SW 1.0.3.1 DevId {mac} " + "x" * 6000
    assert curl(f"{served.http}/cfg{mac}.xml", "-A", agent, source=BENCH)[0] == 200
    time.sleep(1.5)
    stored = [e.user_agent for e in timeline(served, mac) if e.kind == EventKind.FETCH]
    assert stored
    assert max(len(text or "") for text in stored) == 255


@pytest.mark.postgres
def test_one_overlong_row_never_loses_the_batch_on_postgresql(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute("DROP DATABASE IF EXISTS hardening_batch")
        connection.execute("CREATE DATABASE hardening_batch")
    url = postgres_url.rsplit("/", 1)[0] + "/hardening_batch"
    database = Database(url)
    database.upgrade()
    box = SecretBox(TEST_KEY)
    rows = [{"tenant": "acme", "extension": "1001", "display_name": "A", "mac": "000b82170005",
             "model": "GXP1610", "port": "1"}]  # fmt: skip
    with database.session() as session:
        assert import_sheet(session, box, sheet_rows(rows), actor="test").ok
    writer = TimelineWriter(database)
    agents = ["GXP1610 honest"] * 4 + ["x" * 300, "nul\0inside"]
    for agent in agents:
        fetch = Event(mac="000b82170005", kind=EventKind.FETCH, at=utcnow(), user_agent=agent,
                      protocol="http", filename="cfg000b82170005.xml", status=200)  # fmt: skip
        writer.record(fetch)
    assert writer.flush() == len(agents)
    with database.session() as session:
        stored = session.scalars(
            select(DeviceEvent.user_agent).where(DeviceEvent.kind == EventKind.FETCH)
        ).all()
    database.dispose()
    assert sorted(map(len, stored)) == [9, 14, 14, 14, 14, 255]  # every row, the long one cut
    assert "nulinside" in stored


# --- 6: an unknown MAC costs what a known one does: no query ------------------------------


@pytest.fixture
def in_process(tmp_path: Path) -> Iterator[tuple[Service, str]]:
    """The HTTP app in this process (so its queries can be counted), served by Werkzeug."""
    service = open_service(
        Settings(
            db=f"sqlite:///{tmp_path / 'inventory.db'}",
            secret_key=TEST_KEY,
            staging_networks=(f"{BENCH}/32",),
        )
    )
    rows = [{"tenant": "acme", "extension": "1001", "display_name": "A", "mac": "000b82170006",
             "model": "GXP1610", "port": "1"}]  # fmt: skip
    with service.db.session() as session:
        assert import_sheet(session, service.box, sheet_rows(rows), actor="test").ok
    port = free_port()
    http = make_server("127.0.0.1", port, create_app(service), threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield service, f"http://127.0.0.1:{port}"
    finally:
        http.shutdown()
        service.close()


def test_known_and_unknown_macs_cost_the_same_queries(in_process: tuple[Service, str]) -> None:
    service, base = in_process
    device_queries: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if "FROM devices" in statement:
            device_queries.append(statement)

    event.listen(service.db.engine, "before_cursor_execute", count)
    try:
        assert curl(f"{base}/cfg000b82170006.xml", source=ATTACKER)[0] == 401  # warms the caches
        device_queries.clear()
        per_mac = {}
        for mac in ("000b82170006", "000b82fe0001", "000b82fe0002", "000b82fe0003"):
            before = len(device_queries)
            assert curl(f"{base}/cfg{mac}.xml", source=ATTACKER)[0] == 401
            per_mac[mac] = len(device_queries) - before
    finally:
        event.remove(service.db.engine, "before_cursor_execute", count)
    assert per_mac == dict.fromkeys(per_mac, 0), per_mac  # the known one, and three never seen


# --- 7: one host behind the office's address cannot lock the office out -----------------


def test_a_guesser_behind_the_office_address_never_locks_out_its_phones(
    served: RunningServer,
) -> None:
    mac, other = demo_mac_of("GXP2160"), demo_mac_of("GXP2140")
    user, _ = credentials(served, mac)
    url = f"{served.http}/cfg{mac}.xml"
    office = "127.0.0.9"  # the office's NAT address: an insider and the honest phones
    # 5 wrong answers empty a worker's bucket: the address is locked out (each worker counts
    # its own, so it takes up to 5 per worker), and within a second every worker knows.
    statuses = []
    while 429 not in statuses:
        statuses.append(curl(url, "--digest", "-u", f"{user}:wrong", source=office)[0])
        assert len(statuses) <= 40
    time.sleep(1.5)
    assert curl(url, "--digest", "-u", f"{user}:wrong", source=office)[0] == 429
    assert curl(f"{served.http}/cfg.xml", source=office)[0] == 429  # a scan gets nothing
    assert digest_fetch(served, mac, office) == 200  # a correct answer is never refused
    assert digest_fetch(served, other, office) == 200
    # Wrong answers for one username count across addresses too: one wrong answer from each
    # of many addresses (none locked by itself: 21 of 100 tokens) locks the username, 5 per
    # worker; then a wrong answer for it gets 429 from anywhere, and the right one works.
    victim = demo_mac_of("GXP2135")
    victim_user, _ = credentials(served, victim)
    answers = []
    while 429 not in answers:
        source = f"127.0.0.{100 + len(answers)}"
        answers.append(curl(f"{served.http}/cfg{victim}.xml", "--digest", "-u",
                            f"{victim_user}:wrong", source=source)[0])  # fmt: skip
        assert len(answers) <= 60
    assert len(answers) > 5
    assert digest_fetch(served, victim, "127.0.0.121") == 200


@pytest.mark.netns
@pytest.mark.skipif(namespace_problem() is not None, reason="no network namespaces")
def test_an_ipv6_guesser_cannot_escape_its_lockout_by_changing_address(tmp_path: Path) -> None:
    """IPv6 clients in a namespace of our own (2001:db8::/32 exists only there): every request
    from a fresh address of one /64 draws on the same bucket; another /64 is not locked."""
    with lan() as made:
        box = made.add("v6")
        attacker = [f"2001:db8:17::{n + 1:x}" for n in range(60)]
        for address in [*attacker, "2001:db8:18::1"]:
            box.run("ip", "addr", "add", f"{address}/128", "dev", "lo", "nodad")
        env = {**os.environ, "PROVISIONER_DB": f"sqlite:///{tmp_path / 'inventory.db'}",
               "PROVISIONER_SECRET_KEY": TEST_KEY, "PROVISIONER_STAGING_NETWORKS": "192.0.2.0/24",
               "PROVISIONER_RATE_CAPACITY": str(CAPACITY), "PROVISIONER_RATE_REFILL": "0.1",
               "PROVISIONER_HTTP_BASE": "http://[::1]:8080", "PYTHONUNBUFFERED": "1"}  # fmt: skip
        with (tmp_path / "server.log").open("ab") as log:
            box.popen(sys.executable, "-m", "provisioner", "serve", "--demo",
                      "--http", "[::1]:8080", "--tftp", "127.0.0.1:6969",
                      cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip

        def get(path: str, source: str) -> str:
            return box.run("curl", "-s", "-g", "-o", "/dev/null", "-w", "%{http_code}",
                           "--interface", source, f"http://[::1]:8080{path}").stdout  # fmt: skip

        assert wait_until(lambda: get("/healthz", "::1") == "200", 60)
        answers = []  # unknown names (10 tokens each), each from an address never used before
        while "429" not in answers:
            answers.append(get(f"/scan{len(answers)}.php", attacker[len(answers)]))
            assert len(answers) < len(attacker), answers
        assert set(answers[:-1]) == {"404"}
        time.sleep(1.5)  # every worker has read the shared lockout
        assert get("/cfg.xml", attacker[-1]) == "429"  # yet another address of the /64
        assert get("/cfg.xml", "2001:db8:18::1") == "404"  # another /64 is someone else


# --- 8: a NOTIFY goes only where the device proved itself ----------------------------------


def fake_phone(address: tuple[str, int], received: list[bytes], stop: threading.Event) -> None:
    """A raw UDP socket as the phone: records each NOTIFY and accepts it with a 200."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(address)
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(65_535)
            except TimeoutError:
                continue
            received.append(data)
            head = data.decode("latin-1").split("\r\n")
            keep = [h for h in head if h.split(":")[0].lower() in
                    ("via", "from", "to", "call-id", "cseq")]  # fmt: skip
            sock.sendto(("SIP/2.0 200 OK\r\n" + "\r\n".join([*keep, "Content-Length: 0"])
                         + "\r\n\r\n").encode(), peer)  # fmt: skip


def resync(server: RunningServer, token: str, mac: str, to: str) -> int:
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{server.http}/api/v1/devices/{mac}/actions/resync",
        data=json.dumps({"to": to}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_support_cannot_aim_a_notify_at_another_host(served: RunningServer) -> None:
    mac = demo_mac_of("GXP2130")
    made = served.cli("token", "create", "support-17", "--role", "support")
    assert made.returncode == 0, made.stderr
    token = made.stdout.decode().strip()
    assert digest_fetch(served, mac, OFFICE) == 200  # the device proved itself from OFFICE
    time.sleep(1.0)
    stop, theirs, ours = threading.Event(), [], []
    attacker_port, phone_port = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_DGRAM)
    listeners = [
        threading.Thread(target=fake_phone, args=((ATTACKER, attacker_port), theirs, stop)),
        threading.Thread(target=fake_phone, args=((OFFICE, phone_port), ours, stop)),
    ]
    for listener in listeners:
        listener.start()
    try:
        assert resync(served, token, mac, f"{ATTACKER}:{attacker_port}") == 409
        assert resync(served, token, mac, f"{OFFICE}:{phone_port}") == 200
    finally:
        stop.set()
        for listener in listeners:
            listener.join()
    assert theirs == []  # nothing reached the attacker's socket, so no Digest answer either
    assert ours
    assert ours[0].startswith(b"NOTIFY sip:")


# --- 9: the Digest uri must name the requested resource -----------------------------------


def test_a_digest_answer_for_another_uri_is_refused(served: RunningServer) -> None:
    mac = demo_mac_of("GXP1625")
    user, password = credentials(served, mac)
    path = f"/cfg{mac}.xml"
    status, _, headers = curl(served.http + path, source=OFFICE)
    assert status == 401
    challenge = next(
        line.split(":", 1)[1].strip()
        for line in headers.splitlines()
        if line.lower().startswith("www-authenticate:")
    )
    elsewhere = digest_header(challenge, user, password, "/elsewhere.xml")
    assert curl(served.http + path, "-H", f"Authorization: {elsewhere}")[0] == 401
    right = digest_header(challenge, user, password, path)
    assert curl(served.http + path, "-H", f"Authorization: {right}")[0] == 200
