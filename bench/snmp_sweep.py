"""PoE polling speed: our pysnmp poller against Net-SNMP's C tools, on Net-SNMP snmpd agents.

(a) One 48-port snapshot (every column a poll reads) by our poller, warm engine, against the
    same columns walked by ``snmpbulkwalk -Cr25`` (one process per column, all at once, as our
    poller walks them side by side): medians of ``--runs``, and the ratio (target within 3x).
(b) One sweep of 1,000+ ports across simulated 48-port switches (one snmpd each) by the real
    poller, database writes and the device join included (target under 10 s), next to the
    same walks by snmpbulkwalk, one switch after the other.

    python -m bench.snmp_sweep [--runs 15] [--switches 21]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from provisioner.app.service import open_service
from provisioner.domain.inventory.devices import create_device
from provisioner.domain.poe import switches as poe_switches
from provisioner.settings import Settings
from provisioner.snmp.client import Agent, Credentials, SnmpClient
from provisioner.snmp.poller import PoePoller
from provisioner.snmp.profiles import HP, PROFILES
from provisioner.snmp.snapshot import column_groups, read_switch
from tests.support.poe_sim import build_switch
from tests.support.snmp_agents import RunningAgent, snmpd_agent

COMMUNITY = "public"


def netsnmp_walk(port: int, columns: list[str], at_once: bool = True) -> float:
    """Seconds for snmpbulkwalk to walk every column, one process each: all started at once,
    or one after the other."""
    command = ["snmpbulkwalk", "-v2c", "-c", COMMUNITY, "-Cr25", "-On", "-t", "2", "-r", "1",
               f"127.0.0.1:{port}"]  # fmt: skip
    started = time.perf_counter()
    walks = []
    for column in columns:
        walk = subprocess.Popen(
            [*command, column], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        walks.append(walk)
        if not at_once:
            walk.wait(timeout=30)
    if any(walk.wait(timeout=30) != 0 for walk in walks):
        raise RuntimeError("snmpbulkwalk failed")
    return time.perf_counter() - started


def snapshot_ratio(agent: RunningAgent, runs: int) -> None:
    columns = [column for group in column_groups(HP) for column in group]
    target = Agent("127.0.0.1", agent.port, Credentials("2c", community=COMMUNITY))

    async def ours() -> tuple[list[float], float, int]:
        client = SnmpClient()
        try:
            await read_switch(client, target, HP, {})  # first contact, not counted
            times, values = [], 0
            cpu = time.process_time()
            for _ in range(runs):
                reading = await read_switch(client, target, HP, {})
                times.append(reading.seconds)
                values = reading.varbinds
            return times, (time.process_time() - cpu) / runs, values
        finally:
            client.close()

    times, cpu, values = asyncio.run(ours())
    netsnmp_walk(agent.port, columns)
    reference = [netsnmp_walk(agent.port, columns) for _ in range(runs)]
    one_by_one = [netsnmp_walk(agent.port, columns, at_once=False) for _ in range(runs)]
    mine, theirs = statistics.median(times), statistics.median(reference)
    print(f"(a) one 48-port snapshot: {len(columns)} columns, {values} values, median of {runs}")
    print(f"    ours (pysnmp, 4 multi-column GETBULK streams): {mine * 1000:7.1f} ms "
          f"({cpu * 1000:.0f} ms CPU)")  # fmt: skip
    print(f"    snmpbulkwalk -Cr25, {len(columns)} processes at once: {theirs * 1000:7.1f} ms")
    print(f"    snmpbulkwalk, one column after the other:    "
          f"{statistics.median(one_by_one) * 1000:7.1f} ms")  # fmt: skip
    print(f"    ratio ours/Net-SNMP (at once): {mine / theirs:.2f}x (target within 3x)")


def sweep(agents: list[RunningAgent], workdir: Path) -> None:
    settings = Settings(db=f"sqlite:///{workdir / 'sweep.db'}", secret_key=_key())
    service = open_service(settings)
    try:
        with service.db.session() as session:
            for number, agent in enumerate(agents):
                name = f"sw{number:03d}"
                new = poe_switches.NewSwitch(name=name, host="127.0.0.1", port=agent.port,
                                             vendor="hp", community=COMMUNITY)  # fmt: skip
                poe_switches.add_switch(session, service.box, new, tuple(PROFILES))
                for mac in build_switch(name, number, 48, "hp", **LAYOUT).phones:
                    create_device(session, service.box, mac=mac, model="GXP2170")

        async def once() -> tuple[float, float, int, int]:
            poller = PoePoller(service.db, service.box)
            try:
                started, cpu = time.perf_counter(), time.process_time()
                results = await poller.poll()
                took, cpu = time.perf_counter() - started, time.process_time() - cpu
            finally:
                poller.close()
            failed = [r for r in results if not r.ok]
            if failed:
                raise RuntimeError(f"{len(failed)} switches failed: {failed[0].error}")
            return took, cpu, sum(r.ports for r in results), sum(r.varbinds for r in results)

        first, first_cpu, ports, values = asyncio.run(once())
        again, again_cpu, _, _ = asyncio.run(once())
    finally:
        service.close()
    columns = [column for group in column_groups(HP) for column in group]
    started = time.perf_counter()
    for agent in agents:
        netsnmp_walk(agent.port, columns)
    reference = time.perf_counter() - started
    print(f"(b) sweep of {ports} ports on {len(agents)} switches ({values} values), real poller;"
          " CPU is this process's (the machine's load shows in the wall time)")  # fmt: skip
    print(f"    first sweep (joins {len(agents) * 40} phones, writes ports): {first:6.2f} s, "
          f"{first_cpu:.2f} s CPU ({first / 10:.0%} of the 10 s target)")  # fmt: skip
    print(f"    second sweep (nothing moved):                  {again:6.2f} s, "
          f"{again_cpu:.2f} s CPU ({again / 10:.0%} of the target)")  # fmt: skip
    print(f"    snmpbulkwalk, the same walks switch by switch: {reference:6.2f} s "
          f"(ratio ours/Net-SNMP {again / reference:.2f}x)")  # fmt: skip


def _key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


LAYOUT = {"phones": 40, "budget_w": 370, "faults": (45,), "downstream_port": 47}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--switches", type=int, default=21, help="48 ports each")
    args = parser.parse_args()
    for tool in ("snmpd", "snmpbulkwalk"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed: run `make bench`, which installs it")
    workdir = Path(tempfile.mkdtemp(prefix="snmp-sweep-"))
    try:
        with ExitStack() as stack:
            agents = [
                stack.enter_context(snmpd_agent(build_switch(f"sw{n:03d}", n, 48, "hp", **LAYOUT)))
                for n in range(args.switches)
            ]
            snapshot_ratio(agents[0], args.runs)
            sweep(agents, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
