"""Starting a real ``gateway32 run`` (Kamailio under it) for tests, with a licence and config.json.

    issuer = Issuer.create(tmp_path)
    with running_gateway(issuer, trunk_port=..., cores=[core.port], channels=4) as gw:
        ...  # SIPp at gw.address; gw.channels_in_use(), gw.status(), gw.cdrs()

The state directory is a short one under /tmp (unix socket paths are limited to 108 bytes) and is
removed afterwards; the gateway process is stopped however the test ended.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway32.licence import Licence, issue, public_key_pem
from tests.support.ports import LOOPBACK, free_udp_port
from tests.support.sip_harness import DID

GATEWAY_MAC = "0011223344ab"
TENANT = "acme"
EXTENSION = "2001"  # what the DID maps to at the PBX core


@dataclass
class Issuer:
    """The provisioner's licence-signing key, as a test stands in for the provisioner."""

    key: Ed25519PrivateKey
    pem_path: Path

    @classmethod
    def create(cls, directory: Path) -> Issuer:
        key = Ed25519PrivateKey.generate()
        pem_path = directory / "issuer.pem"
        pem_path.write_bytes(public_key_pem(key))
        return cls(key, pem_path)

    def licence(
        self, channels: int, *, serial: str = "GW32-0001", gateway: str = GATEWAY_MAC,
        tenant: str = TENANT, days: float = 30, starts_days: float = -1,
    ) -> dict[str, object]:  # fmt: skip
        now = dt.datetime.now(dt.UTC)
        terms = Licence(serial, tenant, gateway, channels, now + dt.timedelta(days=starts_days),
                        now + dt.timedelta(days=days))  # fmt: skip
        return json.loads(issue(terms, self.key))


def gateway_config(
    licence: dict[str, object],
    *,
    trunk_port: int,
    cores: Sequence[int],
    numbers: dict[str, str] | None = None,
    refusal: str = "busy",
    max_call_seconds: int = 7200,
    default_caller_id: str = DID,
    registration: dict[str, object] | None = None,
) -> dict[str, object]:
    """A config.json as the provisioner serves it (docs/gateway32.md, 'config.json')."""
    return {
        "gateway": GATEWAY_MAC,
        "tenant": TENANT,
        "licence": licence,
        "numbers": [{"did": d, "destination": x} for d, x in (numbers or {DID: EXTENSION}).items()],
        "default_caller_id": default_caller_id,
        "trunk": {
            "host": LOOPBACK,
            "port": trunk_port,
            "transport": "udp",
            "registration": registration,
        },
        "cores": [{"host": LOOPBACK, "port": port} for port in cores],
        "refusal": refusal,
        "max_call_seconds": max_call_seconds,
    }


def write_config(state_dir: Path, config: dict[str, object]) -> None:
    """Atomically, as 6b's fetcher does: the gateway never reads half a file."""
    temporary = state_dir / "config.json.tmp"
    temporary.write_text(json.dumps(config, indent=2))
    os.replace(temporary, state_dir / "config.json")


@dataclass
class RunningGateway:
    process: subprocess.Popen[bytes]
    state_dir: Path
    address: str  # host:port of its SIP listener
    env: dict[str, str]

    @property
    def port(self) -> int:
        return int(self.address.rsplit(":", 1)[1])

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return gateway_cli(self.env, *args)

    def status(self) -> dict[str, object]:
        done = self.cli("status", "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def channels_in_use(self) -> int:
        return int(str(self.status()["channels_in_use"]))

    def wait_channels(self, expected: int, timeout: float = 15) -> int:
        """Channels in use once they settle at ``expected`` (or what they are at the deadline)."""
        deadline = time.monotonic() + timeout
        while (seen := self.channels_in_use()) != expected and time.monotonic() < deadline:
            time.sleep(0.2)
        return seen

    def cdrs(self) -> list[dict[str, object]]:
        path = self.state_dir / "cdr.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def wait_cdrs(self, count: int, timeout: float = 15) -> list[dict[str, object]]:
        deadline = time.monotonic() + timeout
        while len(records := self.cdrs()) < count and time.monotonic() < deadline:
            time.sleep(0.2)
        return records

    def log(self) -> str:
        parts = [self.state_dir / "gateway32.log", self.state_dir / "run" / "kamailio.log"]
        return "\n".join(p.read_text(errors="replace")[-4000:] for p in parts if p.exists())


def gateway_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """One ``gateway32`` command with these settings; its exit code and output."""
    return subprocess.run(
        [sys.executable, "-m", "gateway32", *args], env=env, capture_output=True, text=True,
        timeout=30, check=False,
    )  # fmt: skip


def gateway_env(state_dir: Path, issuer: Issuer, sip: str, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "GATEWAY32_STATE_DIR": str(state_dir),
        "GATEWAY32_SIP": sip,
        "GATEWAY32_ISSUER_KEY": str(issuer.pem_path),
        "GATEWAY32_MAC": GATEWAY_MAC,
        "GATEWAY32_MEDIA_RELAY": "false",
        "GATEWAY32_CORE_PING_INTERVAL": "1",
        "GATEWAY32_CONFIG_POLL_SECONDS": "0.5",
        "PYTHONUNBUFFERED": "1",
    }
    env.update({f"GATEWAY32_{name.upper()}": value for name, value in extra.items()})
    return env


def start_gateway(state_dir: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """``gateway32 run`` in the background; the caller waits for readiness or failure."""
    log = (state_dir / "gateway32.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "gateway32", "run"], env=env, stdout=log, stderr=subprocess.STDOUT
    )


def stop_gateway(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _port_apart_from(config: dict[str, object] | None) -> int:
    """A free port for the gateway that is none of its peers' (each was free when picked)."""
    peers = json.dumps(config or {})
    while True:
        port = free_udp_port()
        if f'"port": {port}' not in peers:
            return port


@contextlib.contextmanager
def running_gateway(
    issuer: Issuer,
    config: dict[str, object] | None,
    *,
    sip_port: int | None = None,
    **settings: str,
) -> Iterator[RunningGateway]:
    """A ready gateway32 serving ``config``; stopped (and its state removed) on exit.

    With ``config=None`` no config.json is written: the gateway fetches its first one from the
    provisioner (give provisioner_url, http_user, http_password, ca_file as settings).
    """
    state_dir = Path(tempfile.mkdtemp(prefix="gw32-", dir="/tmp"))
    address = f"{LOOPBACK}:{sip_port or _port_apart_from(config)}"
    env = gateway_env(state_dir, issuer, address, **settings)
    if config is not None:
        write_config(state_dir, config)
    process = start_gateway(state_dir, env)
    gateway = RunningGateway(process, state_dir, address, env)
    try:
        deadline = time.monotonic() + 30
        while not (state_dir / "run" / "status.json").exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gateway32 run did not start:\n{gateway.log()}")
            time.sleep(0.1)
        yield gateway
    finally:
        stop_gateway(process)
        shutil.rmtree(state_dir, ignore_errors=True)
