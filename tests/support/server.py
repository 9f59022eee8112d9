"""``provisioner serve`` as a real process on free loopback ports, and its CLI next to it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet

from tests.support.ports import free_port
from tests.support.waiting import tcp_port_open, url_answers, wait_until

# One key for the whole run: the in-process service and every server process share the database.
TEST_KEY = Fernet.generate_key().decode()


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
    workdir: Path,
    db_url: str,
    *extra: str,
    env_extra: dict[str, str] | None = None,
    demo: bool = True,
) -> RunningServer:
    """``provisioner serve --demo`` as a subprocess on free loopback ports, in a process group
    of its own (with its HTTP workers: ``kill_server`` kills them all)."""
    http_port, tftp_port = free_port(), free_port(socket.SOCK_DGRAM)
    env = {
        **os.environ,
        "PROVISIONER_DB": db_url,
        "PROVISIONER_SECRET_KEY": TEST_KEY,
        "PROVISIONER_HTTP_BASE": f"http://127.0.0.1:{http_port}",
        "PYTHONUNBUFFERED": "1",
        **(env_extra or {}),  # instances behind one load balancer render its base URL
    }
    log = (workdir / "server.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "provisioner", "serve", *(["--demo"] if demo else []),
         "--http", f"127.0.0.1:{http_port}", "--tftp", f"127.0.0.1:{tftp_port}", *extra],
        cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    server = RunningServer(process, http_port, tftp_port, workdir, env)
    # HTTPS listeners come up on their own: wait for them too, not only for /healthz.
    https_ports = [
        int(extra[i + 1].rsplit(":", 1)[1]) for i, a in enumerate(extra) if a == "--https"
    ]

    def up() -> bool:
        if process.poll() is not None:
            raise RuntimeError((workdir / "server.log").read_text())
        return url_answers(f"{server.http}/healthz") and all(map(tcp_port_open, https_ports))

    if wait_until(up, 60, interval=0.2):
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


def kill_server(server: RunningServer) -> None:
    """``kill -9`` of serve and its HTTP workers at once, as a power cut would."""
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=20)


def stop_server(server: RunningServer) -> None:
    """Stop ``serve`` as an init system does (SIGTERM). One still running 20 s later is killed
    with its workers (its own session), and the failure shows the end of its log: a bare
    timeout told nothing once the test's directory was gone."""
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait()
        log = (server.workdir / "server.log").read_text(errors="replace")
        raise AssertionError(
            f"serve did not stop within 20 s of SIGTERM; its log ends:\n{log[-4000:]}"
        ) from None
