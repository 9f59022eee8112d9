"""Network namespaces for the LAN tests and benchmarks: a bridge and hosts plugged into it.

Everything is named ``zt4-<run>-...`` and numbered in 10.204.0.0/16, which exists only inside
these namespaces. ``Lan.close()`` kills the processes inside them (by namespace, never by name)
and deletes them, which deletes their links too.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

PREFIX = "zt4-"


def namespace_problem() -> str | None:
    """Why this machine cannot make namespaces (for a skip), or None when it can."""
    if shutil.which("ip") is None:
        return "iproute2 (ip) is not installed"
    if os.geteuid() != 0:
        return "network namespaces need root"
    name = f"{PREFIX}check-{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if made.returncode != 0:
        return f"cannot make a network namespace here: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
    return None


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@dataclass
class Host:
    namespace: str
    iface: str = "eth0"
    address: str | None = None  # with prefix, e.g. 10.204.1.1/24

    @property
    def ip(self) -> str:
        assert self.address is not None
        return self.address.split("/")[0]

    def command(self, *args: str) -> list[str]:
        return ["ip", "netns", "exec", self.namespace, *args]

    def run(
        self, *args: str, timeout: float = 60, **kwargs: Any
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            **kwargs,
        )

    def popen(self, *args: str, **kwargs: Any) -> subprocess.Popen[str]:
        return subprocess.Popen(self.command(*args), text=True, **kwargs)

    def mac(self) -> str:
        return self.run("cat", f"/sys/class/net/{self.iface}/address").stdout.strip()

    def set_mac(self, mac: str) -> None:
        _ip("-n", self.namespace, "link", "set", self.iface, "down")
        _ip("-n", self.namespace, "link", "set", self.iface, "address", mac)
        _ip("-n", self.namespace, "link", "set", self.iface, "up")


@dataclass
class Lan:
    """One bridge (in its own namespace) and hosts on it."""

    run_id: str = field(default_factory=lambda: secrets.token_hex(2))
    hosts: dict[str, Host] = field(default_factory=dict)
    _namespaces: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.switch = self._namespace("lan")
        _ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
        _ip("-n", self.switch, "link", "set", "br0", "up")

    def _namespace(self, role: str) -> str:
        name = f"{PREFIX}{self.run_id}-{role}"
        _ip("netns", "add", name)
        self._namespaces.append(name)
        _ip("-n", name, "link", "set", "lo", "up")
        return name

    def add(self, role: str, address: str | None = None) -> Host:
        namespace = self._namespace(role)
        index = len(self.hosts)
        outer, inner = f"zt4{self.run_id}p{index}", f"zt4{self.run_id}h{index}"
        _ip("link", "add", outer, "type", "veth", "peer", "name", inner)
        _ip("link", "set", outer, "netns", self.switch)
        _ip("link", "set", inner, "netns", namespace)
        _ip("-n", self.switch, "link", "set", outer, "master", "br0")
        _ip("-n", self.switch, "link", "set", outer, "up")
        _ip("-n", namespace, "link", "set", inner, "name", "eth0")
        _ip("-n", namespace, "link", "set", "eth0", "up")
        if address:
            _ip("-n", namespace, "addr", "add", address, "dev", "eth0")
        host = Host(namespace, "eth0", address)
        self.hosts[role] = host
        return host

    def close(self) -> None:
        _remove(self._namespaces)


def _remove(namespaces: list[str]) -> None:
    """Kill what runs inside (by namespace, never by name), then delete them and their links."""
    for name in namespaces:
        for pid in _pids(name):
            with suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
    if any(_pids(name) for name in namespaces):
        time.sleep(0.2)
    for name in namespaces:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)


def _pids(namespace: str) -> list[str]:
    found = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True)
    return found.stdout.split()


@contextmanager
def lan() -> Iterator[Lan]:
    made = Lan()
    try:
        yield made
    finally:
        made.close()


def stop(process: subprocess.Popen[Any], timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class NatOffice:
    """A small office behind a NAT router, and the PBX core's network on the router's other side.

    ``core`` (``10.204.90.1``) and the router's WAN side (``10.204.90.2``) share one link; the
    ``phone`` (``192.168.90.2``) sits behind the router, which masquerades it (iptables
    MASQUERADE) and forgets a UDP mapping after ``udp_timeout`` seconds without a packet (both
    conntrack UDP timeouts, set in the router's namespace only). The core has no route to the
    office: only what the mapping lets through reaches the phone.
    """

    udp_timeout: int
    run_id: str = field(default_factory=lambda: secrets.token_hex(2))
    _namespaces: list[str] = field(default_factory=list)

    CORE_IP = "10.204.90.1"
    WAN_IP = "10.204.90.2"
    PHONE_IP = "192.168.90.2"

    def __post_init__(self) -> None:
        self.core = self._host("core")
        self.router = self._host("router")
        self.phone = self._host("phone")
        self._link(self.core, "eth0", f"{self.CORE_IP}/24", self.router, "wan", f"{self.WAN_IP}/24")
        self._link(self.router, "lan", "192.168.90.1/24", self.phone, "eth0", f"{self.PHONE_IP}/24")
        _ip("-n", self.phone.namespace, "route", "add", "default", "via", "192.168.90.1")
        for setting in (
            "net.ipv4.ip_forward=1",
            f"net.netfilter.nf_conntrack_udp_timeout={self.udp_timeout}",
            f"net.netfilter.nf_conntrack_udp_timeout_stream={self.udp_timeout}",
        ):
            self._check(self.router.run("sysctl", "-w", setting))
        self._check(
            self.router.run(
                "iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "wan", "-j", "MASQUERADE"
            )
        )

    @staticmethod
    def _check(done: subprocess.CompletedProcess[str]) -> None:
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(done.args)}: {done.stderr.strip()}")

    def _host(self, role: str) -> Host:
        name = f"{PREFIX}{self.run_id}-{role}"
        _ip("netns", "add", name)
        self._namespaces.append(name)
        _ip("-n", name, "link", "set", "lo", "up")
        return Host(name)

    def _link(self, a: Host, a_if: str, a_addr: str, b: Host, b_if: str, b_addr: str) -> None:
        outer, inner = (
            f"zt4{self.run_id}{a_if[:3]}{b_if[:3]}a",
            f"zt4{self.run_id}{a_if[:3]}{b_if[:3]}b",
        )
        _ip("link", "add", outer, "type", "veth", "peer", "name", inner)
        for host, link, iface, address in ((a, outer, a_if, a_addr), (b, inner, b_if, b_addr)):
            _ip("link", "set", link, "netns", host.namespace)
            _ip("-n", host.namespace, "link", "set", link, "name", iface)
            _ip("-n", host.namespace, "addr", "add", address, "dev", iface)
            _ip("-n", host.namespace, "link", "set", iface, "up")

    def close(self) -> None:
        _remove(self._namespaces)


@contextmanager
def nat_office(udp_timeout: int) -> Iterator[NatOffice]:
    made = NatOffice(udp_timeout)
    try:
        yield made
    finally:
        made.close()
