"""Real SNMP agents on free loopback ports: snmpsim (with ``poesim``) and Net-SNMP snmpd.

Both run in the foreground as child processes and are stopped in ``finally``. The v3 user is
the same on both: ``poeadmin``, SHA ``authpass123``, AES ``privpass123``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import snmpsim

from tests.support.paths import SNMPSIM_VARIATIONS
from tests.support.poe_sim import SimSwitch, snmpd_overrides, write_snmprec
from tests.support.ports import free_udp_port

V3_USER, V3_AUTH, V3_PRIV = "poeadmin", "authpass123", "privpass123"
RW_COMMUNITY = "private"
STOCK_VARIATIONS = Path(snmpsim.__file__).parent / "variation"


@dataclass
class RunningAgent:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _world_readable_dir(prefix: str) -> Path:
    """Outside pytest's 0700 temp root: the agents drop to an unprivileged user."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o777)
    return path


def _wait_answering(agent: RunningAgent, community: str) -> None:
    """Until the agent answers a GET of sysName (snmpget, Net-SNMP's own client)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if agent.process.poll() is not None:
            raise RuntimeError(f"agent exited: {agent.log.read_text(errors='replace')[-2000:]}")
        probe = subprocess.run(
            ["snmpget", "-v2c", "-c", community, "-t", "0.5", "-r", "0", "-On",
             f"127.0.0.1:{agent.port}", ".1.3.6.1.2.1.1.5.0"],
            capture_output=True, timeout=10, check=False,
        )  # fmt: skip
        if probe.returncode == 0:
            return
        time.sleep(0.2)
    raise RuntimeError(f"agent on {agent.port} did not answer in 30 s")


@contextmanager
def snmpsim_agent(switches: dict[str, SimSwitch], det_delay: float = 1.0) -> Iterator[RunningAgent]:
    """One snmpsim process serving each switch under its own community / v3 context (its
    key in ``switches``), with power state in the ``poesim`` variation module."""
    workdir = _world_readable_dir("poe-snmpsim-")
    data, cache = workdir / "data", workdir / "cache"
    data.mkdir()
    cache.mkdir()
    for name, sim in switches.items():
        write_snmprec(sim, data / f"{name}.snmprec")
    port = free_udp_port()
    log = workdir / "snmpsim.log"
    command = [
        str(Path(sys.executable).with_name("snmpsim-command-responder")),
        f"--data-dir={data}", f"--cache-dir={cache}",
        f"--variation-modules-dir={SNMPSIM_VARIATIONS}",
        f"--variation-modules-dir={STOCK_VARIATIONS}",
        f"--variation-module-options=poesim:det_delay:{det_delay},link_delay:{det_delay * 2}",
        f"--agent-udpv4-endpoint=127.0.0.1:{port}",
        f"--v3-user={V3_USER}", f"--v3-auth-key={V3_AUTH}", "--v3-auth-proto=SHA",
        f"--v3-priv-key={V3_PRIV}", "--v3-priv-proto=AES", "--log-level=error",
    ]  # fmt: skip
    env = {**os.environ, "SNMPSIM_ALLOW_ROOT": "true"}
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    agent = RunningAgent(port, process, log)
    try:
        _wait_answering(agent, next(iter(switches)))
        yield agent
    finally:
        agent.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def snmpd_agent(sim: SimSwitch) -> Iterator[RunningAgent]:
    """Net-SNMP snmpd in the foreground with only its override and access modules, so that
    the host's own interfaces do not mix in; as nobody when started by root."""
    workdir = _world_readable_dir("poe-snmpd-")
    port = free_udp_port()
    (workdir / "data.conf").write_text(snmpd_overrides(sim), encoding="ascii")
    (workdir / "snmpd.conf").write_text(
        f"agentaddress udp:127.0.0.1:{port}\n"
        "rocommunity public 127.0.0.1\n"
        f"rwcommunity {RW_COMMUNITY} 127.0.0.1\n"
        f'createUser {V3_USER} SHA "{V3_AUTH}" AES "{V3_PRIV}"\n'
        f"rwuser {V3_USER} priv\n"
        "dontLogTCPWrappersConnects yes\n"
        f"includeFile {workdir / 'data.conf'}\n",
        encoding="ascii",
    )
    persist = workdir / "persist"
    persist.mkdir(mode=0o777)
    persist.chmod(0o777)
    log = workdir / "snmpd.log"
    drop = ["-u", "nobody", "-g", "nogroup"] if os.geteuid() == 0 else []
    command = [
        "snmpd", "-f", "-Lf", str(log), "-C", "-c", str(workdir / "snmpd.conf"), *drop,
        "-I", "override,vacm_conf,vacm_vars,usmConf,usmUser,snmpEngine,mibII/system_mib",
        "-p", str(workdir / "snmpd.pid"),
    ]  # fmt: skip
    env = {**os.environ, "SNMP_PERSISTENT_DIR": str(persist)}
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, env=env
    )
    agent = RunningAgent(port, process, log)
    try:
        _wait_answering(agent, "public")
        yield agent
    finally:
        agent.stop()
        shutil.rmtree(workdir, ignore_errors=True)
