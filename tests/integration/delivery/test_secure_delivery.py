"""Who gets a device's file: the bench, the device itself, and nobody else (issue 3).

The server runs with the staging network set to 127.0.0.2/32 only, so requests from
127.0.0.1 are "the customer's site or the Internet" and must authenticate; other loopback
addresses play the attacker. Clients are curl and raw sockets, never a mock.
"""

from __future__ import annotations

import re
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from provisioner.db.models import Account, Device, Tenant
from provisioner.db.session import Database
from provisioner.domain.demo import demo_mac
from provisioner.domain.inventory import lifecycle
from provisioner.secretbox import SecretBox
from provisioner.vendors import all_models
from tests.support.digest import digest_header
from tests.support.ports import free_port
from tests.support.server import TEST_KEY, RunningServer, start_server, stop_server

MODELS = all_models()


def demo_mac_of(name: str) -> str:
    index, model = next((i, m) for i, m in enumerate(MODELS, 1) if m.model == name)
    return demo_mac(index, model)


GS_MAC, PANA_MAC, GXP1610_MAC = (demo_mac_of(n) for n in ("GXP2170", "KX-HDV230", "GXP1610"))
# the bench; a customer's site (where the honest device is); wrong passwords; the attacker
BENCH, FIELD, PROBE, ATTACKER = "127.0.0.2", "127.0.0.1", "127.0.0.3", "127.0.0.66"
CAPACITY = 100


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("secure")
    https_port = free_port()
    running = start_server(
        workdir,
        f"sqlite:///{workdir / 'inventory.db'}",
        "--https", f"127.0.0.1:{https_port}",
        env_extra={
            "PROVISIONER_STAGING_NETWORKS": f"{BENCH}/32",
            "PROVISIONER_RATE_CAPACITY": str(CAPACITY),
            "PROVISIONER_RATE_REFILL": "0.5",
            "PROVISIONER_LOCKOUT_SECONDS": "600",
        },
    )  # fmt: skip
    running.https_port = https_port  # type: ignore[attr-defined]
    yield running
    stop_server(running)


def db(server: RunningServer) -> Database:
    return Database(f"sqlite:///{server.workdir / 'inventory.db'}")


def credentials(server: RunningServer, mac: str) -> tuple[str, str]:
    database, box = db(server), SecretBox(TEST_KEY)
    with database.session() as session:
        device = session.scalars(select(Device).where(Device.mac == mac)).one()
        assert device.http_user
        assert device.http_password_encrypted
        result = device.http_user, box.decrypt(device.http_password_encrypted)
    database.dispose()
    return result


def all_secrets(server: RunningServer) -> set[str]:
    """Every SIP password, device password and config key in the inventory, decrypted."""
    database, box = db(server), SecretBox(TEST_KEY)
    with database.session() as session:
        found = {box.decrypt(a.sip_password_encrypted) for a in session.scalars(select(Account))}
        for device in session.scalars(select(Device)):
            found.add(box.decrypt(device.admin_password_encrypted))
            for column in (device.http_password_encrypted, device.config_key_encrypted):
                if column:
                    found.add(box.decrypt(column))
    database.dispose()
    return found


def curl(url: str, *args: str, source: str = FIELD) -> tuple[int, bytes, str]:
    """Status, body and response headers, from the curl binary bound to ``source``."""
    result = subprocess.run(
        ["curl", "-s", "-k", "--interface", source, "-D", "-", "-o", "-", *args, url],
        capture_output=True, timeout=30, check=False,
    )  # fmt: skip
    raw = result.stdout
    # with --digest curl prints two header blocks; the last one belongs to the body
    head, _, body = raw.rpartition(b"\r\n\r\n")
    last = head.rsplit(b"HTTP/", 1)[-1].decode("latin-1")
    return int(last.split()[1]), body, last


def test_the_bench_gets_the_credentials(secure: RunningServer) -> None:
    status, body, _ = curl(f"{secure.http}/cfg{GS_MAC}.xml", source=BENCH)
    assert status == 200
    user, password = credentials(secure, GS_MAC)
    assert f'"provisioning.config.username">{user}<'.encode() in body
    assert f'"provisioning.config.password">{password}<'.encode() in body
    assert b'"provisioning.config.filePassword"' in body
    status, body, _ = curl(f"{secure.http}/Config{PANA_MAC.upper()}.cfg", source=BENCH)
    assert status == 200
    pana_user, pana_password = credentials(secure, PANA_MAC)
    assert f'CFG_STANDARD_FILE_PATH="http://{pana_user}:{pana_password}@'.encode() in body


def test_elsewhere_a_known_and_an_unknown_mac_look_the_same(secure: RunningServer) -> None:
    known = curl(f"{secure.http}/cfg{GS_MAC}.xml")
    unknown = curl(f"{secure.http}/cfg000b82fedcba.xml")
    assert known[0] == unknown[0] == 401
    assert known[1] == unknown[1]
    for _, _, headers in (known, unknown):
        assert 'www-authenticate: digest realm="provisioning", qop="auth"' in headers.lower()

    def names(headers: str) -> list[str]:
        return [line.split(":")[0].lower() for line in headers.splitlines()[1:]]

    assert names(known[2]) == names(unknown[2])


def test_digest_as_the_device_gets_the_file_without_the_credentials(
    secure: RunningServer,
) -> None:
    user, password = credentials(secure, GS_MAC)
    status, body, _ = curl(f"{secure.http}/cfg{GS_MAC}.xml", "--digest", "-u", f"{user}:{password}")
    assert status == 200
    assert b"sip.subscriber.password" in body  # the SIP accounts are there
    assert b"provisioning.config.password" not in body  # the credentials went out on the bench only
    assert password.encode() not in body
    wrong = curl(
        f"{secure.http}/cfg{GS_MAC}.xml", "--digest", "-u", f"{user}:{password}x", source=PROBE
    )
    assert wrong[0] == 401
    other_user, other_password = credentials(secure, PANA_MAC)
    crossed = curl(f"{secure.http}/cfg{GS_MAC}.xml", "--digest", "-u",
                   f"{other_user}:{other_password}", source=PROBE)  # fmt: skip
    assert crossed[0] == 401  # another device's credentials open nothing here


def _get(url: str, headers: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read(), _lower(response.headers.items())
    except urllib.error.HTTPError as error:
        return error.code, error.read(), _lower(error.headers.items())


def _lower(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {name.lower(): value for name, value in items}


def test_a_replayed_digest_answer_is_refused(secure: RunningServer) -> None:
    user, password = credentials(secure, GS_MAC)
    uri = f"/cfg{GS_MAC}.xml"
    status, _, headers = _get(secure.http + uri, {})
    assert status == 401
    header = digest_header(headers["www-authenticate"], user, password, uri)
    assert _get(secure.http + uri, {"Authorization": header})[0] == 200
    assert _get(secure.http + uri, {"Authorization": header})[0] == 401  # same nonce and nc
    # Replayed from eight addresses, each on a connection of its own: the workers share the
    # instance's spent nonces, so whichever worker a replay reaches refuses it.
    for replayer in (f"127.0.0.{20 + n}" for n in range(8)):
        assert curl(secure.http + uri, "-H", f"Authorization: {header}", source=replayer)[0] == 401
    forged = header.replace('nonce="', 'nonce="AAAA')
    assert _get(secure.http + uri, {"Authorization": forged})[0] == 401


def test_basic_is_accepted_over_https_only(secure: RunningServer) -> None:
    user, password = credentials(secure, GS_MAC)
    https = f"https://127.0.0.1:{secure.https_port}/cfg{GS_MAC}.xml"  # type: ignore[attr-defined]
    assert curl(https, "-u", f"{user}:{password}")[0] == 200
    assert curl(https, "-u", f"{user}:nope", source=PROBE)[0] == 401
    plain = curl(f"{secure.http}/cfg{GS_MAC}.xml", "-u", f"{user}:{password}", source=PROBE)
    assert plain[0] == 401


def test_tftp_outside_the_bench_serves_no_secrets(secure: RunningServer) -> None:
    tftp = f"tftp://127.0.0.1:{secure.tftp_port}"
    device = subprocess.run(
        ["curl", "-s", "--interface", FIELD, f"{tftp}/cfg{GS_MAC}.xml"],
        capture_output=True, timeout=30, check=False,
    )  # fmt: skip
    assert device.returncode == 68  # file not found
    assert device.stdout == b""
    bench = subprocess.run(
        ["curl", "-s", "--interface", BENCH, f"{tftp}/cfg{GS_MAC}.xml"],
        capture_output=True, timeout=30, check=False,
    )  # fmt: skip
    assert bench.returncode == 0
    assert b"provisioning.config.password" in bench.stdout
    bootstrap = subprocess.run(
        ["curl", "-s", "--interface", FIELD, f"{tftp}/KX-HDV230.cfg"],
        capture_output=True, timeout=30, check=False,
    )  # fmt: skip
    assert bootstrap.returncode == 0
    assert b"CFG_STANDARD_FILE_PATH" in bootstrap.stdout


def test_a_shipped_device_is_installed_by_its_first_fetch_from_its_customer(
    secure: RunningServer,
) -> None:
    mac = GXP1610_MAC
    database, box = db(secure), SecretBox(TEST_KEY)
    with database.session() as session:
        device = session.scalars(select(Device).where(Device.mac == mac)).one()
        lifecycle.apply(session, box, device, lifecycle.Action.STAGE, actor="test")
        lifecycle.apply(session, box, device, lifecycle.Action.SHIP, actor="test")
    time.sleep(1.2)  # the served file is cached for up to a second
    assert curl(f"{secure.http}/cfg{mac}.xml")[0] == 401  # not yet one of its networks
    with database.session() as session:
        tenant = session.scalars(select(Tenant)).one()
        tenant.allowed_networks = ["127.0.0.0/30"]
    time.sleep(1.2)
    status, body, _ = curl(f"{secure.http}/cfg{mac}.xml")
    assert status == 200
    assert b"P1361" not in body
    with database.session() as session:
        device = session.scalars(select(Device).where(Device.mac == mac)).one()
        assert device.state.value == "installed"
    database.dispose()
    shown = secure.cli("device", "show", mac).stdout.decode()
    assert "shipped -> installed" in shown
    assert "127.0.0.1" in shown  # who caused it: the first fetch from that address


def test_attack_is_locked_out_and_real_devices_keep_working(secure: RunningServer) -> None:
    """100,000 requests from one address; meanwhile a real device keeps fetching."""
    user, password = credentials(secure, GS_MAC)
    served: list[int] = []
    stop = threading.Event()

    def honest_device() -> None:
        while not stop.is_set():
            status, _, _ = curl(
                f"{secure.http}/cfg{GS_MAC}.xml", "--digest", "-u", f"{user}:{password}"
            )
            served.append(status)
            time.sleep(0.2)

    device_thread = threading.Thread(target=honest_device)
    device_thread.start()
    try:
        http_attack = subprocess.run(
            ["curl", "-s", "--interface", ATTACKER, "-w", "%{stderr}%{http_code}\n",
             f"{secure.http}/cfg000b82[000000-089999].xml",  # guessed MACs
             f"{secure.http}/cfg000b820d00[01-19].xml?[1-500]",  # the demo devices' own
             f"{secure.http}/Config0080F0[000000-000299].cfg",
             f"{secure.http}/scan[000-199].php"],  # names no device asks for
            capture_output=True, timeout=600, check=False,
        )  # fmt: skip
        tftp_replies = _tftp_attack(secure.tftp_port, count=10_000)
    finally:
        stop.set()
        device_thread.join()
    codes = http_attack.stderr.decode().split()
    assert len(codes) == 100_000
    assert set(codes) <= {"401", "429"}
    # Locked out after the bucket ran dry: a device's file still gets the challenge (the
    # same for every MAC: a locked office's honest phones need it), anything else nothing.
    assert set(codes[:-200]) == {"401"}
    assert set(codes[-200:]) == {"429"}
    bodies = http_attack.stdout
    assert not any(secret.encode() in bodies for secret in all_secrets(secure))
    assert len(tftp_replies) == 10_000
    assert all(reply[:2] == b"\x00\x05" for reply in tftp_replies)  # errors, never DATA
    assert served
    assert set(served) == {200}  # the honest device was never refused
    scraped = curl(f"{secure.http}/metrics", source=BENCH)[1].decode()
    assert re.search(r'provisioner_lockouts_total\{protocol="http"\} [1-9]', scraped)
    assert re.search(
        r'provisioner_refusals_total\{protocol="http",reason="locked_out"\} [1-9]', scraped
    )
    assert curl(f"{secure.http}/metrics", source=FIELD)[0] == 404  # not for the outside
    # A wrong password from the locked address gets nothing; the right one is proof, and a
    # lockout never refuses proof (issue 17: one host behind a NAT must not lock an office).
    assert curl(f"{secure.http}/cfg{GS_MAC}.xml", "--digest", "-u", f"{user}:wrong",
                source=ATTACKER)[0] == 429  # fmt: skip
    assert curl(f"{secure.http}/cfg{GS_MAC}.xml", "--digest", "-u", f"{user}:{password}",
                source=ATTACKER)[0] == 200  # fmt: skip


def _tftp_attack(port: int, count: int) -> list[bytes]:
    """Guessed device names over TFTP from the attacker, each from a port of its own (the
    server rightly ignores a second RRQ from a client whose transfer is still open)."""
    replies = []
    for start in range(0, count, 250):
        batch = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(250)]
        try:
            for index, sock in enumerate(batch, start):
                sock.bind((ATTACKER, 0))
                name = f"cfg000b82{index:06x}.xml".encode()
                sock.sendto(b"\x00\x01" + name + b"\x00octet\x00", ("127.0.0.1", port))
            for sock in batch:
                sock.settimeout(5.0)  # patience for a loaded machine: every reply must come
                try:
                    replies.append(sock.recvfrom(2048)[0])
                except TimeoutError:
                    replies.append(b"")
        finally:
            for sock in batch:
                sock.close()
    return replies


def test_no_secret_in_clear_in_the_database_or_the_logs(secure: RunningServer) -> None:
    found = all_secrets(secure)
    assert len(found) > 50
    for path in [*secure.workdir.glob("inventory.db*"), secure.workdir / "server.log"]:
        data = Path(path).read_bytes()
        assert not [s for s in found if s.encode() in data], path


def test_grandstream_file_encrypted_with_the_bench_key_decrypts_with_openssl(
    secure: RunningServer, tmp_path: Path
) -> None:
    mac = demo_mac_of("GXP1628")
    user, password = credentials(secure, mac)
    url = f"{secure.http}/cfg{mac}.xml"
    status, plain, _ = curl(url, "--digest", "-u", f"{user}:{password}")
    assert status == 200
    database, box = db(secure), SecretBox(TEST_KEY)
    with database.session() as session:
        device = session.scalars(select(Device).where(Device.mac == mac)).one()
        device.encrypt_config = True
        key = box.decrypt(device.config_key_encrypted or "")
    database.dispose()
    time.sleep(1.2)  # served files are cached for up to a second
    status, sealed, _ = curl(url, "--digest", "-u", f"{user}:{password}")
    assert status == 200
    assert sealed.startswith(b"Salted__")
    (tmp_path / "sealed").write_bytes(sealed)
    opened = subprocess.run(
        ["openssl", "enc", "-d", "-aes-256-cbc", "-md", "md5", "-k", key,
         "-in", str(tmp_path / "sealed")],
        capture_output=True, timeout=30, check=True,
    )  # fmt: skip
    assert opened.stdout == plain
    bench = curl(url, source=BENCH)[1]
    assert bench.startswith(b"<?xml")  # the bench gets it in clear, P1359 inside
    assert f"<P1359>{key}</P1359>".encode() in bench


def test_a_forwarded_for_header_does_not_make_an_outsider_the_bench(
    secure: RunningServer,
) -> None:
    """No load balancer is trusted here: the header is only the client's own claim."""
    status, body, _ = curl(f"{secure.http}/cfg{GS_MAC}.xml", "-H", f"X-Forwarded-For: {BENCH}")
    assert status == 401
    assert b"provisioning.config.password" not in body
    assert curl(f"{secure.http}/metrics", "-H", f"X-Forwarded-For: {BENCH}")[0] == 404


def test_behind_a_trusted_balancer_the_forwarded_address_decides(tmp_path: Path) -> None:
    balancer = "127.0.0.9"
    server = start_server(
        tmp_path,
        f"sqlite:///{tmp_path / 'inventory.db'}",
        env_extra={
            "PROVISIONER_STAGING_NETWORKS": f"{BENCH}/32",
            "PROVISIONER_TRUSTED_PROXIES": f"{balancer}/32",
        },
    )
    try:
        url = f"{server.http}/cfg{GS_MAC}.xml"
        bench = curl(url, "-H", f"X-Forwarded-For: {BENCH}", source=balancer)
        assert bench[0] == 200
        assert b"provisioning.config.password" in bench[1]
        outside = curl(url, "-H", "X-Forwarded-For: 198.51.100.1", source=balancer)
        assert outside[0] == 401
    finally:
        stop_server(server)
