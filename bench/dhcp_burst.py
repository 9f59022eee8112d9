"""100 DHCP clients at once: time until every one holds a lease (DISCOVER, OFFER, REQUEST, ACK).

``python -m bench.dhcp_burst`` builds a LAN in ``zt4-`` network namespaces and bursts the same
clients at a bare reference dnsmasq (``--no-ping``, nothing else) and at ``dhcp-opt66 bench``
(per-vendor options, DNS, the lease hook run for each lease, SIP PnP), one after the other in
the same run, then prints both times and their ratio. Target: all 100 within 10 s. The client
half (``python -m bench.dhcp_burst client --iface IF``) runs inside the clients' namespace; the
test uses it too. Like a phone, a client repeats its message after a second without an answer,
and starts again from a DISCOVER after a NAK.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dhcp_opt66.dhcp_packets import REPLY_FILTER, client_packet, discover_options

RETRY = 1.0  # seconds before a client repeats itself
TARGET = 10.0
VENDOR_CLASS = "Grandstream GXP2170 dslforum.org"


@dataclass
class Client:
    mac: str
    xid: int
    offer: tuple[str, str] | None = None  # (address, server id)
    leased_at: float | None = None


def burst(iface: str, count: int, timeout: float) -> dict[str, Any]:
    """``count`` clients DORA at once on ``iface``; how many got a lease, and when."""
    from scapy.all import AsyncSniffer, conf
    from scapy.layers.dhcp import BOOTP, DHCP

    conf.verb = 0
    base = random.getrandbits(24) << 8
    clients = {
        base + i: Client(
            f"02:5a:{random.randrange(256):02x}:00:{i >> 8:02x}:{i & 255:02x}", base + i
        )
        for i in range(count)
    }
    sock = conf.L2socket(iface=iface)
    lock = threading.Lock()
    naks: list[int] = []
    discover = discover_options(VENDOR_CLASS)

    def request(client: Client) -> None:
        assert client.offer is not None
        address, server = client.offer
        options = [("message-type", "request"), ("requested_addr", address),
                   ("server_id", server), ("vendor_class_id", VENDOR_CLASS.encode())]  # fmt: skip
        with lock:
            sock.send(client_packet(client.mac, client.xid, options))

    def on_reply(packet: Any) -> None:
        client = clients.get(packet[BOOTP].xid) if BOOTP in packet else None
        if client is None or DHCP not in packet:
            return
        kind = dict(o for o in packet[DHCP].options if isinstance(o, tuple) and len(o) == 2)
        if kind.get("message-type") == 2 and client.offer is None:
            client.offer = (packet[BOOTP].yiaddr, kind.get("server_id", packet[BOOTP].siaddr))
            request(client)
        elif kind.get("message-type") == 5 and client.leased_at is None:
            client.leased_at = time.monotonic()
        elif kind.get("message-type") == 6 and client.leased_at is None:
            client.offer = None  # NAK: start again at once with a DISCOVER, as a phone does
            naks.append(client.xid)
            with lock:
                sock.send(client_packet(client.mac, client.xid, discover))

    sniffer = AsyncSniffer(iface=iface, filter=REPLY_FILTER, prn=on_reply, store=False)
    sniffer.start()
    time.sleep(0.5)  # the sniffer's socket is open before the first reply can come
    started = time.monotonic()
    pending = list(clients.values())
    while pending and time.monotonic() - started < timeout:
        for client in pending:
            if client.offer is None:
                with lock:
                    sock.send(client_packet(client.mac, client.xid, discover))
            else:
                request(client)
        wait_until = time.monotonic() + RETRY
        while time.monotonic() < wait_until and any(c.leased_at is None for c in pending):
            time.sleep(0.01)
        pending = [c for c in clients.values() if c.leased_at is None]
    sniffer.stop()
    sock.close()
    times = sorted(c.leased_at - started for c in clients.values() if c.leased_at is not None)
    return {
        "clients": count,
        "leased": len(times),
        "all_leased_s": round(times[-1], 3) if len(times) == count else None,
        "median_s": round(times[len(times) // 2], 3) if times else None,
        "naks": len(naks),
    }


def _client_main(args: argparse.Namespace) -> None:
    print(json.dumps(burst(args.iface, args.count, args.timeout)))


def run_client(host: Any, count: int, timeout: float) -> dict[str, Any]:
    """The client half inside ``host``'s namespace (a tests.support.netns.Host)."""
    command = ("client", "--iface", host.iface, "--count", str(count), "--timeout", str(timeout))
    done = host.run(sys.executable, "-m", "bench.dhcp_burst", *command, timeout=timeout + 60)
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    return json.loads(done.stdout)


def _reference(host: Any, state: Path) -> list[str]:
    return ["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--port=0", "--no-ping",
            f"--interface={host.iface}", "--bind-interfaces",
            "--dhcp-range=10.204.5.20,10.204.5.250,1h", f"--dhcp-leasefile={state / 'ref.leases'}",
            f"--pid-file={state / 'ref.pid'}"]  # fmt: skip


def _bench(host: Any, state: Path) -> list[str]:
    return [sys.executable, "-m", "dhcp_opt66", "bench", "--iface", host.iface,
            "--address", "10.204.5.1/24", "--range-start", "10.204.5.20", "--range-end",
            "10.204.5.250", "--provisioning-url", "http://prov.bench.test/",
            "--pbx-core", "pbx.bench.test", "--state-dir", str(state / "bench"),
            "--probe-timeout", "1", "--api-url", "http://127.0.0.1:9"]  # fmt: skip


def _measure(server: Any, client: Any, command: list[str], count: int) -> dict[str, Any]:
    # The lease hook runs for every lease, as on a real bench; its provisioner is away here
    # (a closed port), so each post fails at once.
    env = {**os.environ, "DHCP_OPT66_API_TOKEN": "burst"}
    process = server.popen(*command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(3.0)  # up and listening (the bench first looks for another server)
        return run_client(client, count, 30.0)
    finally:
        process.terminate()
        process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode")
    client = sub.add_parser("client")
    client.add_argument("--iface", required=True)
    client.add_argument("--count", type=int, default=100)
    client.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--count", type=int, default=100)
    args = parser.parse_args()
    if args.mode == "client":
        _client_main(args)
        return
    from tests.support.netns import lan, namespace_problem

    problem = namespace_problem()
    if problem:
        sys.exit(f"cannot run: {problem}")
    with tempfile.TemporaryDirectory() as tmp, lan() as net:
        state = Path(tmp)
        server = net.add("srv", "10.204.5.1/24")
        clients = net.add("clients")
        reference = _measure(server, clients, _reference(server, state), args.count)
        ours = _measure(server, clients, _bench(server, state), args.count)
    for name, result in (("reference dnsmasq", reference), ("dhcp-opt66 bench", ours)):
        print(f"{name:18} {result['leased']}/{result['clients']} leased, all in "
              f"{result['all_leased_s']} s (median {result['median_s']} s)")  # fmt: skip
    if reference["all_leased_s"] and ours["all_leased_s"]:
        ratio = ours["all_leased_s"] / reference["all_leased_s"]
        print(f"ratio bench/reference: {ratio:.2f} (target: all {args.count} within {TARGET:g} s)")


if __name__ == "__main__":
    main()
