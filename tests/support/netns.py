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
        for name in self._namespaces:
            for pid in _pids(name):
                with suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
        if any(_pids(name) for name in self._namespaces):
            time.sleep(0.2)
        for name in self._namespaces:
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
