"""Serving the bench: writes dnsmasq's configuration into the state dir, refuses to start when
another DHCP server answers on the bench interface, then runs dnsmasq and restarts it when it
dies, until SIGTERM or Ctrl-C stops both cleanly.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from dhcp_opt66 import dnsmasq_conf
from dhcp_opt66.dhcp_packets import Offer
from dhcp_opt66.settings import Bench

log = logging.getLogger(__name__)

HOOK_SETTINGS = "lease-hook.json"
RESTART_DELAYS = (0.5, 1, 2, 5, 10)  # seconds before each restart in a row
STEADY = 30.0  # a dnsmasq that ran this long counts as healthy again
STOP_WAIT = 5.0


class BenchError(RuntimeError):
    """The bench cannot start; the message says why and what to do."""


@dataclass(frozen=True)
class Prepared:
    conf: Path
    command: list[str]


def dnsmasq_binary() -> str:
    found = shutil.which("dnsmasq") or next(
        (p for p in ("/usr/sbin/dnsmasq", "/sbin/dnsmasq") if os.access(p, os.X_OK)), None
    )
    if found is None:
        raise BenchError("dnsmasq is not installed: apt-get install dnsmasq-base")
    return found


def prepare(bench: Bench, token: str | None) -> Prepared:
    """State dir, configuration, lease hook; dnsmasq --test must accept the result."""
    state = bench.state_dir.resolve()
    state.mkdir(parents=True, exist_ok=True)
    hook = _write_hook(bench, state, token) if bench.api_url else None
    conf = state / dnsmasq_conf.CONF_FILE
    conf.write_text(dnsmasq_conf.render(bench, state, hook), encoding="utf-8")
    binary = dnsmasq_binary()
    checked = subprocess.run(
        [binary, "--test", f"--conf-file={conf}"], capture_output=True, text=True, check=False
    )
    if checked.returncode != 0:
        raise BenchError(f"dnsmasq refuses the configuration {conf}: {checked.stderr.strip()}")
    return Prepared(conf, [binary, "--keep-in-foreground", f"--conf-file={conf}"])


def _write_hook(bench: Bench, state: Path, token: str | None) -> Path:
    if not token:
        raise BenchError(
            "api_url is set but no token: export DHCP_OPT66_API_TOKEN (a warehouse token from "
            "`provisioner token create bench --role warehouse`)"
        )
    settings = state / HOOK_SETTINGS
    descriptor = os.open(settings, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump({"api_url": bench.api_url, "token": token}, out)
    hook = state / dnsmasq_conf.HOOK_FILE
    command = [sys.executable, "-m", "dhcp_opt66.lease_hook", str(settings)]
    hook.write_text(f'#!/bin/sh\nexec {shlex.join(command)} "$@"\n', encoding="utf-8")
    hook.chmod(0o700)
    return hook


def interface_addresses(iface: str) -> list[str]:
    """The IPv4 addresses with prefix on ``iface`` (``ip -j addr``), or BenchError."""
    shown = subprocess.run(
        ["ip", "-j", "-4", "addr", "show", "dev", iface],
        capture_output=True,
        text=True,
        check=False,
    )
    if shown.returncode != 0:
        raise BenchError(f"no interface {iface!r}: {shown.stderr.strip()}")
    return [
        f"{info['local']}/{info['prefixlen']}"
        for link in json.loads(shown.stdout or "[]")
        for info in link.get("addr_info", [])
    ]


def check_interface(bench: Bench) -> None:
    if str(bench.address) not in interface_addresses(bench.iface):
        raise BenchError(
            f"{bench.iface} does not have the bench address {bench.address}: "
            f"ip addr add {bench.address} dev {bench.iface}"
        )


def refuse_other_servers(offers: list[Offer], iface: str) -> None:
    if offers:
        named = ", ".join(sorted({f"{o.server_id} (MAC {o.from_mac})" for o in offers}))
        raise BenchError(
            f"another DHCP server answers on {iface}: {named}. The bench must be the only one; "
            "unplug that server or use another interface."
        )


class Supervisor:
    """Runs dnsmasq in the foreground and brings it back when it dies on its own."""

    def __init__(self, command: list[str], stop: threading.Event) -> None:
        self._command = command
        self._stop = stop
        self.restarts = 0

    def run(self) -> int:
        failures = 0
        while not self._stop.is_set():
            started = time.monotonic()
            process = subprocess.Popen(self._command)
            log.info("dnsmasq started (pid %d)", process.pid)
            code = self._wait(process)
            if self._stop.is_set():
                return 0
            failures = 0 if time.monotonic() - started > STEADY else failures + 1
            if failures > len(RESTART_DELAYS):
                log.error("dnsmasq keeps dying (exit %s); giving up", code)
                return 1
            delay = RESTART_DELAYS[min(failures, len(RESTART_DELAYS)) - 1]
            log.warning("dnsmasq exited with %s; restarting in %g s", code, delay)
            self.restarts += 1
            self._stop.wait(delay)
        return 0

    def _wait(self, process: subprocess.Popen[bytes]) -> int | None:
        while not self._stop.wait(0.2):
            code = process.poll()
            if code is not None:
                return code
        process.terminate()
        try:
            return process.wait(STOP_WAIT)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()


def stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, _frame: object) -> None:
        log.info("stopping on %s", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
