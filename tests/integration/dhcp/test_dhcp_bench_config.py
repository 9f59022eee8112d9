"""Bench settings, the dnsmasq configuration made from them, and the lease hook against a real
``provisioner serve`` (the hook is what dnsmasq runs per lease)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from dhcp_opt66 import dnsmasq_conf
from dhcp_opt66.settings import load
from provisioner.domain.demo import demo_mac
from provisioner.vendors import all_models
from tests.support.ports import free_port
from tests.support.server import RunningServer
from tests.unit.dhcp_opt66.test_dhcp_bench_config import BASE


def test_configuration_listens_on_the_bench_only_and_passes_dnsmasq_test(tmp_path: Path) -> None:
    bench = load(None, {**BASE, "pbx_core": "pbx.bench.test", "pbx_core_ip": "10.204.7.2"})
    text = dnsmasq_conf.render(bench, tmp_path, tmp_path / "hook")
    lines = set(text.splitlines())
    assert {
        "interface=eth9", "except-interface=lo", "listen-address=10.204.7.1", "bind-interfaces",
        "no-ping", "dhcp-authoritative", "no-resolv", f"dhcp-leasefile={tmp_path}/leases",
        "host-record=prov.bench.test,10.204.7.1", "host-record=pbx.bench.test,10.204.7.2",
        "srv-host=_sip._udp.bench.test,pbx.bench.test,5060,10,100",
        "dhcp-option=option:ntp-server,10.204.7.1", "dhcp-option=option:dns-server,10.204.7.1",
        'dhcp-option=tag:grandstream,66,"http://prov.bench.test/gs"',
    } <= lines  # fmt: skip
    assert not any(line.startswith("dhcp-option-force=tag:grandstream,160") for line in lines)
    conf = tmp_path / "dnsmasq.conf"
    conf.write_text(text)
    checked = subprocess.run(
        ["dnsmasq", "--test", f"--conf-file={conf}"], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stderr


def _hook(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DNSMASQ_VENDOR_CLASS": "Grandstream GXP2170 dslforum.org"}
    return subprocess.run(
        [sys.executable, "-m", "dhcp_opt66.lease_hook", str(config), *args],
        capture_output=True, text=True, timeout=30, env=env, check=False,
    )  # fmt: skip


def test_lease_hook_posts_to_a_real_server(server: RunningServer, tmp_path: Path) -> None:
    made = server.cli("token", "create", "bench-hook", "--role", "warehouse")
    assert made.returncode == 0, made.stderr
    config = tmp_path / "hook.json"
    token = made.stdout.decode().strip()
    config.write_text(json.dumps({"api_url": server.http, "token": token}))
    grandstream = next(m for m in all_models() if m.vendor == "grandstream")
    index = next(i for i, m in enumerate(all_models(), start=1) if m is grandstream)
    mac = demo_mac(index, grandstream)
    done = _hook(config, "add", mac, "10.204.7.123", "GXP-bench")
    assert done.returncode == 0
    assert "recorded (201)" in done.stderr
    shown = server.cli("device", "show", mac).stdout.decode()
    assert "add 10.204.7.123 host=GXP-bench vendor=Grandstream_GXP2170_dslforum.org" in shown

    unknown = _hook(config, "old", "02:00:00:00:00:01", "10.204.7.124")
    assert unknown.returncode == 0
    assert "refused (404)" in unknown.stderr
    assert "tftp" not in _hook(config, "tftp", "1", "2").stderr  # other events: silently nothing
    assert token not in done.stderr + unknown.stderr


def test_lease_hook_never_fails_dnsmasq(tmp_path: Path) -> None:
    config = tmp_path / "hook.json"
    config.write_text(json.dumps({"api_url": f"http://127.0.0.1:{free_port()}", "token": "t"}))
    started = time.monotonic()
    away = _hook(config, "add", "00:0b:82:00:00:01", "10.204.7.9")
    assert away.returncode == 0
    assert "not reached" in away.stderr
    assert time.monotonic() - started < 10
    broken = _hook(tmp_path / "missing.json", "add", "00:0b:82:00:00:01", "10.204.7.9")
    assert broken.returncode == 0
    assert "no usable hook settings" in broken.stderr
