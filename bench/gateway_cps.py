"""Calls per second through gateway32 against a bare Kamailio proxy, and the licence under load.

Carrier = SIPp UAC, PBX core = SIPp UAS (200 only), all on loopback, one target at a time:
1. Sustained rate: calls at rising rates (no hold) through the bare stateful Kamailio proxy and
   through ``gateway32 run`` (32-channel licence); a step counts when every call was answered with
   no retransmission and no failure. Prints the best such rate of each and their ratio.
2. Licence at the limit: ``--burst-rate`` call attempts per second for ``--burst-seconds`` against
   a full ``--channels`` licence, each answered call held past the burst. Exactly ``--channels``
   must be answered (0 over it: neither answers, nor INVITEs reaching the core, nor the peak of
   channels in use read over JSON-RPC), every other attempt refused, and 0 channels left in use
   once the calls are hung up. Targets: >= 50 attempts/s, 0 over, 0 leaked.
Signalling only (gateway32 with media_relay off, as the bare proxy relays no media either). A
step that is refused calls on gateway32 with "peak channels 32" filled its licence: calls took
longer than 32 / rate seconds each (the machine is loaded).

    python -m bench.gateway_cps [--rates 200,300,400,500,600,800,1000,1200] [--seconds 8]
                                [--channels 32] [--burst-rate 100] [--burst-seconds 10]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from gateway32.rpc import KamailioRPC, RPCError
from tests.support.gateway_engine import Issuer, RunningGateway, gateway_config, running_gateway
from tests.support.ports import free_udp_port
from tests.support.sip_harness import SipLab, Sipp

CLOCK_TICKS = 100  # /proc/<pid>/stat counts CPU time in USER_HZ ticks


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU of ``root`` and every descendant (Kamailio forks its workers)."""
    total, pending = 0.0, [root]
    while pending:
        pid = pending.pop()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
            for task in Path(f"/proc/{pid}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


class ChannelWatch:
    """Polls the gateway's channels in use over JSON-RPC in the background; keeps the peak."""

    def __init__(self, rpc: KamailioRPC | None, interval: float = 0.1) -> None:
        self.rpc, self.interval, self.peak = rpc, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while self.rpc is not None and not self._stop.is_set():
            with suppress(RPCError):
                self.peak = max(self.peak, self.rpc.channels_in_use())
            self._stop.wait(self.interval)

    @contextmanager
    def watching(self) -> Iterator[ChannelWatch]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join()


@dataclass
class Target:
    """What the carrier calls: the bare proxy or gateway32 (with its JSON-RPC for channels)."""

    name: str
    address: str
    pid: int  # root of the process tree whose CPU is counted
    rpc: KamailioRPC | None = None

    def settle(self) -> None:
        """Until the previous step's calls are gone (channels back to 0 on the gateway)."""
        deadline = time.monotonic() + 15
        while self.rpc is not None and time.monotonic() < deadline:
            with suppress(RPCError):
                if self.rpc.channels_in_use() == 0:
                    break
            time.sleep(0.2)
        time.sleep(1)


@dataclass
class Step:
    rate: int
    calls: int
    answered: int
    refused: int
    failed: int
    retransmissions: int
    achieved: float
    cpu: float  # share of one core used by the proxy/gateway process tree
    peak_channels: int

    @property
    def clean(self) -> bool:
        return self.answered == self.calls and self.failed == 0 and self.retransmissions == 0

    def line(self, target: Target, seconds: int) -> str:
        channels = f", peak channels {self.peak_channels}" if target.rpc else ""
        return (
            f"{target.name:9} {self.rate:5d} cps x {seconds} s: answered "
            f"{self.answered}/{self.calls}, refused {self.refused}, failed {self.failed}, "
            f"retrans {self.retransmissions}, achieved {self.achieved:.0f} cps, "
            f"CPU {self.cpu:.0%} of a core{channels}: {'clean' if self.clean else 'NOT clean'}"
        )


def run_step(lab: SipLab, target: Target, carrier_port: int, rate: int, seconds: int) -> Step:
    calls = rate * seconds
    cpu_before, started = tree_cpu_seconds(target.pid), time.monotonic()
    with ChannelWatch(target.rpc).watching() as watch:
        run = lab.uac(
            target.address, "uac_limit.xml", calls=calls, rate=rate, limit=calls, hold_ms=0,
            port=carrier_port, recv_timeout_ms=5000, seconds=seconds + 30,
        )  # fmt: skip
    cpu = (tree_cpu_seconds(target.pid) - cpu_before) / (time.monotonic() - started)
    return Step(rate, calls, run.answered, run.refused, run.failed, run.retransmissions,
                run.creation_rate, cpu, watch.peak)  # fmt: skip


def attempt(lab: SipLab, target: Target, carrier_port: int, rate: int, seconds: int) -> Step:
    """One step, run once more if it is not clean (other processes share the two cores)."""
    for _attempt in range(2):
        target.settle()
        step = run_step(lab, target, carrier_port, rate, seconds)
        print(step.line(target, seconds), flush=True)
        if step.clean:
            break
    return step


def sustained(
    lab: SipLab, targets: Sequence[Target], carrier_port: int, rates: Sequence[int], seconds: int
) -> dict[str, dict[int, Step]]:
    """Each target's clean steps, rate by rate, the targets taking turns at each rate (so a
    change of load on the machine hits both), each until a step is not clean."""
    clean: dict[str, dict[int, Step]] = {target.name: {} for target in targets}
    running = list(targets)
    for rate in rates:
        for target in list(running):
            step = attempt(lab, target, carrier_port, rate, seconds)
            if step.clean:
                clean[target.name][rate] = step
            else:
                running.remove(target)
        if not running:
            break
    return clean


def core_invites(core: Sipp) -> int:
    time.sleep(1.5)  # SIPp writes its counters once a second
    return core.result().count("INVITE")


def licence_burst(
    lab: SipLab, gateway: RunningGateway, core: Sipp, carrier_port: int, channels: int,
    rate: int, seconds: int,
) -> bool:  # fmt: skip
    calls = rate * seconds
    invites_before = core_invites(core)
    with ChannelWatch(KamailioRPC(gateway.state_dir / "rpc.sock")).watching() as watch:
        run = lab.uac(
            gateway.address, "uac_limit.xml", calls=calls, rate=rate, limit=calls,
            hold_ms=(seconds + 5) * 1000, port=carrier_port, recv_timeout_ms=10000,
            seconds=2 * seconds + 40,
        )  # fmt: skip
    reached_core = core_invites(core) - invites_before
    leaked = gateway.wait_channels(0, timeout=30)
    over = max(run.answered, reached_core, watch.peak) - channels
    attempts = run.creation_rate
    print(
        f"\nlicence {channels} channels, {calls} attempts at {rate} cps (achieved {attempts:.0f}), "
        f"answered calls held {seconds + 5} s:\n"
        f"  answered {run.answered}, refused {run.refused}, failed {run.failed}, "
        f"retrans {run.retransmissions}; INVITEs at the core {reached_core}; "
        f"peak channels in use {watch.peak}\n"
        f"  calls over the licence: {max(over, 0)} (target 0); channels left in use after the "
        f"hang-ups: {leaked} (target 0)",
        flush=True,
    )
    return (
        over <= 0
        and run.answered == channels
        and run.refused == calls - channels
        and run.failed == 0
        and leaked == 0
        and attempts >= 50
    )


@contextmanager
def cleaned_up(workdir: Path) -> Iterator[None]:
    try:
        yield
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rates", default="200,300,400,500,600,800,1000,1200")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--channels", type=int, default=32)
    parser.add_argument("--burst-rate", type=int, default=100)
    parser.add_argument("--burst-seconds", type=int, default=10)
    args = parser.parse_args()
    rates = [int(rate) for rate in args.rates.split(",")]

    workdir = Path(tempfile.mkdtemp(prefix="gateway-cps-"))
    issuer = Issuer.create(workdir)
    with SipLab(workdir) as lab, cleaned_up(workdir):
        core = lab.uas("uas_pbx_fast.xml")
        carrier_port = free_udp_port()
        config = gateway_config(
            issuer.licence(args.channels), trunk_port=carrier_port, cores=[core.port]
        )
        with running_gateway(issuer, config) as gateway:
            proxy = lab.bare_proxy(core.address)
            rpc = KamailioRPC(gateway.state_dir / "rpc.sock")
            targets = [Target("kamailio", proxy.address, proxy.pid),
                       Target("gateway32", gateway.address, gateway.process.pid, rpc)]  # fmt: skip
            steps = sustained(lab, targets, carrier_port, rates, args.seconds)
            lab.stop_proxy(proxy)
            after_steps = gateway.wait_channels(0, timeout=30)
            print(f"gateway32 channels in use after the rate steps: {after_steps} (target 0)")
            exact = licence_burst(lab, gateway, core, carrier_port, args.channels,
                                  args.burst_rate, args.burst_seconds)  # fmt: skip

    bare, gw = steps["kamailio"], steps["gateway32"]
    best_gw, best_bare = max(gw, default=0), max(bare, default=0)
    print(f"\nsustained with no retransmission: gateway32 {best_gw} cps, "
          f"bare Kamailio {best_bare} cps")  # fmt: skip
    top = " (the top rate tried: raise --rates)" if best_bare == rates[-1] else ""
    print(f"ratio gateway32/kamailio: {best_gw / best_bare if best_bare else 0:.0%}{top}")
    if common := max(set(gw) & set(bare), default=0):
        print(f"CPU at {common} cps: gateway32 {gw[common].cpu:.0%}, bare Kamailio "
              f"{bare[common].cpu:.0%} of a core")  # fmt: skip
    print(f"licence exact, no channel leaked: {'yes' if exact and after_steps == 0 else 'NO'}")


if __name__ == "__main__":
    main()
