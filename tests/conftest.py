"""Shared fixtures: a fresh database and service per test, a running server, PostgreSQL."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from provisioner.app.service import Service, open_service
from provisioner.settings import Settings
from tests.gateway_engine import Issuer
from tests.sip_harness import SipLab

TEST_KEY = Fernet.generate_key().decode()


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(db=f"sqlite:///{tmp_path / 'inventory.db'}", secret_key=TEST_KEY)


@pytest.fixture
def service(settings: Settings) -> Iterator[Service]:
    svc = open_service(settings)
    yield svc
    svc.close()


@dataclass
class RunningServer:
    process: subprocess.Popen[bytes]
    http_port: int
    tftp_port: int
    workdir: Path
    env: dict[str, str]

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def cli(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "provisioner", *args],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            timeout=60,
            check=False,
        )


def start_server(
    workdir: Path, db_url: str, *extra: str, env_extra: dict[str, str] | None = None
) -> RunningServer:
    """``provisioner serve --demo`` as a subprocess on free loopback ports."""
    http_port, tftp_port = free_port(), free_port(socket.SOCK_DGRAM)
    env = {
        **os.environ,
        **(env_extra or {}),
        "PROVISIONER_DB": db_url,
        "PROVISIONER_SECRET_KEY": TEST_KEY,
        "PROVISIONER_HTTP_BASE": f"http://127.0.0.1:{http_port}",
        "PYTHONUNBUFFERED": "1",
    }
    log = (workdir / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "provisioner", "serve", "--demo",
         "--http", f"127.0.0.1:{http_port}", "--tftp", f"127.0.0.1:{tftp_port}", *extra],
        cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    server = RunningServer(process, http_port, tftp_port, workdir, env)
    # HTTPS listeners come up on their own: wait for them too, not only for /healthz.
    https_ports = [
        int(extra[i + 1].rsplit(":", 1)[1]) for i, a in enumerate(extra) if a == "--https"
    ]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError((workdir / "server.log").read_text())
        try:
            with urllib.request.urlopen(f"{server.http}/healthz", timeout=1):  # noqa: S310
                pass
            for port in https_ports:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            time.sleep(0.2)
        else:
            return server
    process.kill()
    raise RuntimeError("provisioner serve did not come up in 60 s")


def start_firmware_server(workdir: Path) -> RunningServer:
    """``start_server`` with a SQLite inventory and the firmware catalog in ``workdir``."""
    return start_server(
        workdir,
        f"sqlite:///{workdir / 'inventory.db'}",
        env_extra={"PROVISIONER_FIRMWARE_DIR": str(workdir / "store")},
    )


def stop_server(server: RunningServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        raise


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("serve")
    running = start_server(workdir, f"sqlite:///{workdir / 'inventory.db'}")
    yield running
    stop_server(running)


def _postgres_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        pytest.fail("PostgreSQL server not installed: `make test` installs Debian's postgresql")
    return found[-1]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throw-away PostgreSQL cluster on a loopback port, run as the postgres user."""
    # Outside pytest's 0700 temp root: the server runs as the postgres user.
    datadir = Path(tempfile.mkdtemp(prefix="provisioner-pg-"))
    shutil.chown(datadir, "postgres", "postgres")
    port = free_port()
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run(
        [*as_postgres, _postgres_bin("initdb"), "-D", str(datadir), "--auth=trust", "-U",
         "postgres", "--encoding=UTF8", "--locale=C"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    subprocess.run(
        [*as_postgres, _postgres_bin("pg_ctl"), "-D", str(datadir), "-w", "-l",
         str(datadir / "server.log"), "-o",
         f"-p {port} -c listen_addresses=127.0.0.1 -k {datadir} -c fsync=off", "start"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_postgres, _postgres_bin("pg_ctl"), "-D", str(datadir), "-m", "fast", "stop"],
            check=False, capture_output=True, timeout=60,
        )  # fmt: skip
        shutil.rmtree(datadir, ignore_errors=True)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[SipLab]:
    """Gateway tests: SIPp peers (and bare Kamailio proxies), all killed afterwards."""
    with SipLab(tmp_path) as running:
        yield running


@pytest.fixture
def issuer(tmp_path: Path) -> Issuer:
    """Gateway tests: the provisioner's licence-signing key, public half in tmp_path/issuer.pem."""
    return Issuer.create(tmp_path)
