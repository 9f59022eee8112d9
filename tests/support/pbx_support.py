"""The shared PBX core for tests: a real Kamailio with the config and tables the provisioner makes,
and SIPp phones that register on it and answer calls."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from provisioner.app.service import Service
from provisioner.db.models import Account, Tenant
from provisioner.pbx.core_config import CoreSettings, Peer, render_core_config
from provisioner.pbx.directory import build_directory
from provisioner.pbx.kamailio_db import write_directory
from tests.support.paths import SIPP
from tests.support.ports import free_udp_port
from tests.support.server import RunningServer

SCENARIOS = SIPP / "pbx"
KAMAILIO = shutil.which("kamailio") or "/usr/sbin/kamailio"
REALM = "pbx.test"


@dataclass
class Core:
    process: subprocess.Popen[bytes]
    port: int
    db_path: Path
    log: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def export(service: Service, db_path: Path) -> None:
    with service.db.session() as session:
        write_directory(db_path, build_directory(session, service.box, REALM))


def account_credentials(service: Service, tenant: str, extension: str) -> tuple[str, str]:
    """The SIP username and password of a tenant's extension, as its phone's file has them."""
    with service.db.session() as session:
        account = (
            session.query(Account)
            .join(Tenant)
            .filter(Tenant.name == tenant, Account.extension == extension)
            .one()
        )
        return account.sip_username, service.box.decrypt(account.sip_password_encrypted)


def answers_options(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a SIP server on ``host:port`` (UDP) answers an OPTIONS with 200."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        sock.settimeout(0.3)
        probe = (
            f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {host}:{sock.getsockname()[1]};branch=z9hG4bKprobe\r\n"
            f"From: <sip:probe@{host}>;tag=1\r\nTo: <sip:{host}>\r\n"
            "Call-ID: probe\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 5\r\nContent-Length: 0\r\n\r\n"
        )
        sock.sendto(probe.encode(), (host, port))
        try:
            return sock.recv(4096).startswith(b"SIP/2.0 200")
        except OSError:
            return False


def start_core(
    workdir: Path,
    db_path: Path,
    gateways: tuple[Peer, ...] = (),
    port: int | None = None,
    rpc_port: int | None = None,
) -> Core:
    """Kamailio on the PBX database ``db_path`` (already exported), answering OPTIONS."""
    if not Path(KAMAILIO).exists():
        pytest.fail("kamailio missing: `make test` installs Debian's kamailio")
    port = port or free_udp_port()
    run_dir = workdir / "pbx-run"
    run_dir.mkdir(exist_ok=True)
    cfg_text = render_core_config(
        CoreSettings(
            listen=Peer("127.0.0.1", port),
            realm=REALM,
            db_path=db_path,
            run_dir=run_dir,
            gateways=gateways,
            children=2,
            rpc=Peer("127.0.0.1", rpc_port) if rpc_port else None,
        )
    )
    return run_core(workdir, cfg_text, port, db_path)


def run_core(workdir: Path, cfg_text: str, port: int, db_path: Path) -> Core:
    """Kamailio on ``cfg_text`` (its ``rundir`` must exist), once it answers OPTIONS on ``port``."""
    run_dir = workdir / "pbx-run"
    cfg = workdir / "pbx.cfg"
    cfg.write_text(cfg_text)
    log = workdir / "pbx.log"
    process = subprocess.Popen(
        [KAMAILIO, "-f", str(cfg), "-DD", "-E", "-m", "64", "-M", "8", "-Y", str(run_dir)],
        stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    core = Core(process, port, db_path, log)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"kamailio exited: {log.read_text()[-3000:]}")
        if answers_options(port):
            return core
        time.sleep(0.2)
    core.stop()
    raise RuntimeError(f"kamailio did not answer OPTIONS: {log.read_text()[-3000:]}")


def core_from_cli(
    server: RunningServer, workdir: Path, sip_port: int, rpc_port: int, *extra: str
) -> Core:
    """The core as an operator makes it beside ``serve``: `provisioner pbx export`, then
    `pbx config` (``extra`` are more of its options) with registrations readable over RPC on
    ``rpc_port``, then Kamailio on that config."""

    def cli(*args: str) -> str:
        done = server.cli(*args)
        assert done.returncode == 0, done.stderr.decode()
        return done.stdout.decode()

    pbx_db = workdir / "pbx.sqlite"
    cli("pbx", "export", "--to", str(pbx_db), "--realm", REALM)
    (workdir / "pbx-run").mkdir()
    config = cli("pbx", "config", "--listen", f"127.0.0.1:{sip_port}", "--pbx-db", str(pbx_db),
                 "--run-dir", str(workdir / "pbx-run"), "--children", "2",
                 "--rpc", f"127.0.0.1:{rpc_port}", "--realm", REALM, *extra)  # fmt: skip
    return run_core(workdir, config, sip_port, pbx_db)


def _final(workdir: Path, scenario: str, args: list[str], timeout: int = 20) -> str:
    """Run a phone scenario once with SIPp; the final status it logged, or "no answer" when
    nothing final came within ``timeout`` seconds."""
    for old in workdir.glob(f"{Path(scenario).stem}_*_logs.log"):
        old.unlink()
    subprocess.run(
        ["sipp", *args, "-sf", str(SCENARIOS / scenario), "-i", "127.0.0.1",
         "-p", str(free_udp_port()), "-m", "1", "-nostdin", "-trace_logs",
         "-timeout", f"{timeout}s", "-timeout_error"],
        cwd=workdir, capture_output=True, timeout=40, check=False,
    )  # fmt: skip
    logs = "".join(p.read_text() for p in workdir.glob(f"{Path(scenario).stem}_*_logs.log"))
    found = [word.split()[1] for word in logs.splitlines() if word.startswith("FINAL ")]
    return found[-1] if found else "no answer"


def register(
    workdir: Path,
    core_port: int,
    username: str,
    password: str,
    contact_port: int,
    expires: int = 600,
    user_agent: str = "SIPp-phone",
    timeout: int = 20,
) -> str:
    """Register with SIPp (``expires=0``: unregister); the final status ("200", "401" or "403"),
    or "no answer"."""
    return _final(workdir, "register.xml", [
        f"127.0.0.1:{core_port}", "-s", username, "-au", username, "-ap", password,
        "-key", "contact_port", str(contact_port), "-key", "expires", str(expires),
        "-key", "user_agent", user_agent,
    ], timeout)  # fmt: skip


def call_out(
    workdir: Path, core_port: int, username: str, password: str, number: str, hold_ms: int = 300
) -> str:
    """A phone's call to ``number`` through the core (answering its 407); "200" when answered."""
    return _final(workdir, "uac_phone_call.xml", [
        f"127.0.0.1:{core_port}", "-s", number, "-au", username, "-ap", password,
        "-key", "me", username, "-d", str(hold_ms),
    ])  # fmt: skip


def watch(workdir: Path, core_port: int, username: str, password: str, extension: str) -> Watcher:
    """A BLF key watching ``extension`` (SUBSCRIBE, Event: dialog), answering the first NOTIFY
    and three more, for at most 30 s (``stop`` ends it sooner)."""
    for old in workdir.glob("subscribe_dialog_*_logs.log"):
        old.unlink()
    process = subprocess.Popen(
        ["sipp", f"127.0.0.1:{core_port}", "-sf", str(SCENARIOS / "subscribe_dialog.xml"),
         "-i", "127.0.0.1", "-p", str(free_udp_port()), "-m", "1", "-nostdin", "-trace_logs",
         "-s", extension, "-au", username, "-ap", password, "-key", "me", username,
         "-timeout", "30s", "-timeout_error"],
        cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return Watcher(process, workdir)


@dataclass
class Watcher:
    process: subprocess.Popen[bytes]
    workdir: Path

    def lines(self) -> list[str]:
        logs = "".join(p.read_text() for p in self.workdir.glob("subscribe_dialog_*_logs.log"))
        return logs.splitlines()

    def subscribed(self) -> bool:
        return any(line.startswith("FINAL 200") for line in self.lines())

    def states(self) -> list[str]:
        """The dialog state of each NOTIFY after the first ("" for a NOTIFY without one)."""
        found = [line.split()[1] if len(line.split()) > 2 else "" for line in self.lines()
                 if line.startswith("STATE ")]  # fmt: skip
        return found[1:]

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)
