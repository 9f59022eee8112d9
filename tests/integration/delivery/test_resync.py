"""``provisioner notify`` against a real SIP peer: SIPp plays the device (``tests/sipp/``).

The server treats 127.0.0.2 as the warehouse bench and 127.0.0.1 as a customer's site, so
a device is reached, and fetches, on either side of that line; curl fetches as it would.
Each scenario checks what a device checks (Event header, Digest credentials) and makes SIPp
exit non-zero when the NOTIFY is wrong.
"""

from __future__ import annotations

import hashlib
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from provisioner.app.service import open_service
from provisioner.db.models import Device, DeviceEvent
from provisioner.db.session import Database
from provisioner.domain.delivery.pipeline import Fetch
from provisioner.domain.delivery.resync import Target, registered_contact
from provisioner.domain.demo import demo_mac
from provisioner.domain.inventory.lookup import load_device
from provisioner.domain.inventory.sheet import import_sheet, sheet_rows
from provisioner.secretbox import SecretBox
from provisioner.settings import Settings
from provisioner.vendors import all_models, vendor
from provisioner.vendors.grandstream.crypto import decrypt_config
from tests.support.api import make_api
from tests.support.paths import SIPP
from tests.support.ports import free_port
from tests.support.server import TEST_KEY, RunningServer, start_server, stop_server

pytestmark = pytest.mark.sip

SCENARIOS = SIPP
BENCH, FIELD = "127.0.0.2", "127.0.0.1"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("resync")
    running = start_server(
        workdir,
        f"sqlite:///{workdir / 'inventory.db'}",
        env_extra={"PROVISIONER_STAGING_NETWORKS": f"{BENCH}/32"},
    )
    yield running
    stop_server(running)


@dataclass(frozen=True)
class DemoDevice:
    mac: str
    filename: str
    sip_user: str  # line 1
    sip_password: str
    http_user: str
    http_password: str


def demo_device(server: RunningServer, model_name: str) -> DemoDevice:
    index, model = next((i, m) for i, m in enumerate(all_models(), 1) if m.model == model_name)
    mac = demo_mac(index, model)
    database, box = Database(f"sqlite:///{server.workdir / 'inventory.db'}"), SecretBox(TEST_KEY)
    with database.session() as session:
        device = load_device(session, mac)
        assert device is not None
        assert device.http_user
        assert device.http_password_encrypted
        account = device.lines[0].account
        found = DemoDevice(
            mac,
            vendor(model.vendor).device_filename(mac, model),
            account.sip_username,
            box.decrypt(account.sip_password_encrypted),
            device.http_user,
            box.decrypt(device.http_password_encrypted),
        )
    database.dispose()
    return found


@dataclass
class Sipp:
    process: subprocess.Popen[bytes]
    address: str
    workdir: Path

    def wait(self) -> int:
        return self.process.wait(timeout=30)

    def log(self) -> str:
        """SIPp's screen, errors and log actions, for an assertion message."""
        parts = [path.read_text(errors="replace") for path in sorted(self.workdir.glob("*.log"))]
        return "\n".join(parts)[-4000:]


def _udp_bound(ip: str, port: int) -> bool:
    wanted = f"{socket.inet_aton(ip)[::-1].hex().upper()}:{port:04X}"
    rows = Path("/proc/net/udp").read_text().splitlines()[1:]
    return any(row.split()[1] == wanted for row in rows)


@pytest.fixture
def device_peer(tmp_path: Path) -> Iterator[Callable[..., Sipp]]:
    """Starts SIPp as a device on a free port, for one call (``-m 1``), bounded in time."""
    started: list[Sipp] = []

    def start(scenario: str, *, ip: str = FIELD, user: str = "", password: str = "") -> Sipp:
        port = free_port(socket.SOCK_DGRAM)
        workdir = tmp_path / f"sipp-{len(started)}"
        workdir.mkdir()
        process = subprocess.Popen(
            ["sipp", "-sf", str(SCENARIOS / scenario), "-i", ip, "-p", str(port), "-m", "1",
             "-key", "user", user, "-key", "password", password,
             "-timeout", "20s", "-timeout_error", "-nostdin", "-trace_err", "-trace_logs"],
            cwd=workdir, stdout=(workdir / "screen.log").open("wb"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        peer = Sipp(process, f"{ip}:{port}", workdir)
        started.append(peer)
        deadline = time.monotonic() + 10
        while not _udp_bound(ip, port):
            assert process.poll() is None, peer.log()
            assert time.monotonic() < deadline, "SIPp did not bind its port in 10 s"
            time.sleep(0.05)
        return peer

    yield start
    for peer in started:
        if peer.process.poll() is None:
            peer.process.kill()
            peer.process.wait()


def notify(server: RunningServer, *args: str) -> subprocess.CompletedProcess[str]:
    run = server.cli("notify", *args)
    return subprocess.CompletedProcess(
        run.args, run.returncode, run.stdout.decode(), run.stderr.decode()
    )


def status_when(server: RunningServer, mac: str, wanted: str) -> str:
    """``notify --status`` once it says ``wanted`` (fetches reach the timeline in batches)."""
    deadline = time.monotonic() + 10
    while True:
        run = notify(server, mac, "--status")
        assert run.returncode == 0, run.stderr
        if wanted in run.stdout or time.monotonic() > deadline:
            return run.stdout
        time.sleep(0.2)


def curl(url: str, *args: str, source: str) -> tuple[int, bytes]:
    result = subprocess.run(
        ["curl", "-s", "--interface", source, "-o", "-", "-w", "\n%{http_code}", *args, url],
        capture_output=True, timeout=30, check=True,
    )  # fmt: skip
    body, _, status = result.stdout.rpartition(b"\n")
    return int(status), body


def test_a_bench_device_fetches_the_file_it_was_notified_of(
    server: RunningServer, device_peer: Callable[..., Sipp]
) -> None:
    device = demo_device(server, "GXP1610")
    peer = device_peer(
        "resync_device.xml", ip=BENCH, user=device.sip_user, password=device.sip_password
    )
    run = notify(server, device.mac, "--to", peer.address, "--timeout", "5")
    assert run.returncode == 0, run.stderr
    assert peer.wait() == 0, peer.log()
    assert f"NOTIFY to {peer.address}, Event: check-sync: 200 OK" in run.stdout
    assert "after a Digest challenge" in run.stdout
    assert "not fetched yet" in status_when(server, device.mac, "not fetched yet")

    status, body = curl(f"{server.http}/{device.filename}", source=BENCH)
    assert status == 200
    assert f"<P1361>{device.http_password}</P1361>".encode() in body  # the bench variant
    shown = status_when(server, device.mac, "applied")
    assert f"sha256 {hashlib.sha256(body).hexdigest()}): applied" in shown
    assert f"from {BENCH}" in shown


def test_a_field_device_fetches_the_file_it_was_notified_of(
    server: RunningServer, device_peer: Callable[..., Sipp]
) -> None:
    """Outside the bench the device authenticates and gets its file without credentials."""
    device = demo_device(server, "KX-HDV230")
    peer = device_peer("resync_device.xml", user=device.sip_user, password=device.sip_password)
    run = notify(server, device.mac, "--to", peer.address, "--timeout", "5")
    assert run.returncode == 0, run.stderr
    assert peer.wait() == 0, peer.log()

    url = f"{server.http}/{device.filename}"
    auth = f"{device.http_user}:{device.http_password}"
    status, body = curl(url, "--digest", "-u", auth, source=FIELD)
    assert status == 200
    assert device.http_password.encode() not in body  # the field variant
    assert hashlib.sha256(body).hexdigest() in status_when(server, device.mac, "applied")


def test_an_encrypted_field_device_fetches_the_file_it_was_notified_of(
    server: RunningServer, device_peer: Callable[..., Sipp]
) -> None:
    device = demo_device(server, "GXP2130")
    database = Database(f"sqlite:///{server.workdir / 'inventory.db'}")
    with database.session() as session:
        found = load_device(session, device.mac)
        assert found is not None
        found.encrypt_config = True
        config_key = SecretBox(TEST_KEY).decrypt(found.config_key_encrypted or "")
    database.dispose()
    time.sleep(1.1)  # the server's render cache looks at the inventory revision every second
    peer = device_peer("resync_device.xml", user=device.sip_user, password=device.sip_password)
    run = notify(server, device.mac, "--to", peer.address, "--timeout", "5")
    assert run.returncode == 0, run.stderr
    assert peer.wait() == 0, peer.log()

    auth = f"{device.http_user}:{device.http_password}"
    status, body = curl(f"{server.http}/{device.filename}", "--digest", "-u", auth, source=FIELD)
    assert status == 200
    plain = hashlib.sha256(decrypt_config(body, config_key)).hexdigest()
    assert f"(sha256 {plain})" in status_when(server, device.mac, "not fetched yet")
    assert "applied (fetched at" in status_when(server, device.mac, "fetched")


@pytest.mark.parametrize("model", ["GXP2170", "KX-UT113"])
def test_the_reboot_flag_goes_only_with_reboot(
    server: RunningServer, device_peer: Callable[..., Sipp], model: str
) -> None:
    device = demo_device(server, model)
    peer = device_peer("reboot_device.xml", user=device.sip_user, password=device.sip_password)
    run = notify(server, device.mac, "--to", peer.address, "--reboot", "--timeout", "5")
    assert run.returncode == 0, run.stderr
    assert peer.wait() == 0, peer.log()
    assert "Event: check-sync;reboot=true: 200 OK" in run.stdout


def test_a_device_that_does_not_answer_fails_in_bounded_time(server: RunningServer) -> None:
    device = demo_device(server, "GXP1620")
    silent = f"{FIELD}:{free_port(socket.SOCK_DGRAM)}"
    started = time.monotonic()
    assert "no NOTIFY was sent" in notify(server, device.mac, "--status").stderr
    start_up = time.monotonic() - started  # the same command's start, under this machine's load
    started = time.monotonic()
    run = notify(server, device.mac, "--to", silent, "--timeout", "1.5")
    assert time.monotonic() - started - start_up < 1.5 + 3  # the retransmissions stop at 1.5 s
    assert run.returncode == 1
    assert f"no answer from {silent} in 1.5 s" in run.stderr
    assert "--to" in run.stderr
    shown = status_when(server, device.mac, "no answer")
    assert f"NOTIFY to {silent}, Event: check-sync: no answer" in shown


def test_a_refusing_device_is_reported(
    server: RunningServer, device_peer: Callable[..., Sipp]
) -> None:
    device = demo_device(server, "GXP1625")
    peer = device_peer("forbidding_device.xml")
    run = notify(server, device.mac, "--to", peer.address, "--timeout", "5")
    assert peer.wait() == 0, peer.log()
    assert run.returncode == 1
    assert "did not accept it: 403 Forbidden" in run.stderr


def test_rejected_credentials_are_tried_once(
    server: RunningServer, device_peer: Callable[..., Sipp]
) -> None:
    """The device has another password: one answer to its challenge, then we stop."""
    device = demo_device(server, "GXP1628")
    other = device.sip_password + "-not"
    peer = device_peer("wrong_password_device.xml", user=device.sip_user, password=other)
    run = notify(server, device.mac, "--to", peer.address, "--timeout", "5")
    assert run.returncode == 1
    assert "401 Unauthorized: the device refused line 1's credentials" in run.stderr
    assert peer.wait() == 0, peer.log()  # no third NOTIFY came within 2 s


def test_noise_and_other_transactions_answers_are_ignored(
    server: RunningServer, device_peer: Callable[..., Sipp]
) -> None:
    device = demo_device(server, "GXP1630")
    peer = device_peer("noisy_device.xml")
    run = notify(server, device.mac, "--to", peer.address, "--timeout", "5")
    assert peer.wait() == 0, peer.log()
    assert run.returncode == 0, run.stderr
    assert ": 200 OK" in run.stdout
    assert "challenge" not in run.stdout


def test_without_to_the_address_of_the_newest_fetch_is_used(server: RunningServer) -> None:
    never_fetched = demo_device(server, "HT801")
    run = notify(server, never_fetched.mac, "--timeout", "1")
    assert run.returncode == 1
    assert "never fetched a file" in run.stderr
    assert "--to HOST:PORT" in run.stderr

    fetched = demo_device(server, "HT802")
    assert curl(f"{server.http}/{fetched.filename}", source=BENCH)[0] == 200
    database = Database(f"sqlite:///{server.workdir / 'inventory.db'}")
    deadline = time.monotonic() + 10
    contact = None
    while contact is None and time.monotonic() < deadline:
        with database.session() as session:
            device_id = session.scalars(select(Device.id).where(Device.mac == fetched.mac)).one()
            contact = registered_contact(session, device_id)
        time.sleep(0.1)
    database.dispose()
    assert contact == Target(BENCH, 5060)


def test_an_api_change_to_a_devices_file_sends_the_notify_by_itself(
    tmp_path: Path, device_peer: Callable[..., Sipp]
) -> None:
    """Renaming an account alters the file of the device it is on: the device is told."""
    db_url = f"sqlite:///{tmp_path / 'inventory.db'}"
    mac = "000b82ab0001"
    setup = open_service(Settings(db=db_url, secret_key=TEST_KEY))
    with setup.db.session() as session:
        row = {"tenant": "acme", "extension": "1001", "direct_number": "", "mac": mac,
               "display_name": "Before", "model": "GXP1610", "port": "1"}  # fmt: skip
        assert import_sheet(session, setup.box, sheet_rows([row])).ok
        device = load_device(session, mac)
        assert device is not None
        account = device.lines[0].account
        user, password = account.sip_username, setup.box.decrypt(account.sip_password_encrypted)
        account_id = account.id
    served = setup.provisioner.deliver(Fetch(f"cfg{mac}.xml", "http", FIELD))
    assert served.body  # the device has its file (from loopback, a staging network here)
    setup.close()

    peer = device_peer("resync_device.xml", user=user, password=password)
    port = int(peer.address.rsplit(":", 1)[1])
    service = open_service(Settings(db=db_url, secret_key=TEST_KEY, device_sip_port=port))
    try:
        api = make_api(service)
        queue = api.client.application.extensions["resync"]
        api.ok("PATCH", f"/devices/{mac}", json={"ring_representative": False})
        assert queue.wait() == []  # not in the file: nothing to tell
        api.ok("PATCH", f"/accounts/{account_id}", json={"display_name": "After"})
        (result,) = queue.wait()
        assert result.answer.ok, result.answer
        assert result.target == Target(FIELD, port)
        assert peer.wait() == 0, peer.log()
        with service.db.session() as session:
            actors = session.scalars(
                select(DeviceEvent.actor).where(DeviceEvent.kind == "notify")
            ).all()
        assert actors == ["automatic, after api admin"]
    finally:
        service.close()
