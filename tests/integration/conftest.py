"""Fixtures of the integration lane: a running server, PostgreSQL, SIP peers.

Every test under this folder is marked ``integration`` here, so ``-m "not integration"`` leaves
it out wherever it is run from."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.ports import free_port
from tests.support.server import RunningServer, start_server, stop_server
from tests.support.sip_harness import SipLab

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.integration)


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
