"""The bench, the probe and SIP PnP with real clients in network namespaces made here.

One LAN (a bridge in ``zt4-*`` namespaces, 10.204.1.0/24): ``dhcp-opt66 bench`` on ``srv`` next
to a real ``provisioner serve`` (the lease hook posts to it), phones running busybox udhcpc and
ISC dhclient, an ``admin`` host for the probe, dig and the PnP phone, and a ``rogue`` host.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest

from provisioner.domain.demo import demo_mac
from provisioner.domain.inventory.macs import format_mac
from provisioner.vendors import all_models
from tests.support.netns import Host, Lan, lan, namespace_problem, stop
from tests.support.server import TEST_KEY
from tests.support.waiting import file_contains, wait_until

PROBLEM = namespace_problem()
pytestmark = [
    pytest.mark.netns,
    pytest.mark.skipif(PROBLEM is not None, reason=f"no network namespaces: {PROBLEM}"),
]

BENCH = "10.204.1.1"
URL = "http://prov.bench.test:8080/"
HTTP = "127.0.0.1:8080"  # inside the srv namespace: nobody else's port
ENV_SCRIPT = '#!/bin/sh\nenv > "{out}.$1$reason"\n'
CLIENT_SCRIPT = ENV_SCRIPT + (
    'case "$1" in bound|renew) ip addr add "$ip/24" dev "$interface" ;; esac\nexit 0\n'
)


def _demo_mac(vendor: str) -> str:
    index, model = next((i, m) for i, m in enumerate(all_models(), 1) if m.vendor == vendor)
    return format_mac(demo_mac(index, model))


@dataclass
class Bench:
    lan: Lan
    srv: Host
    admin: Host
    rogue: Host
    workdir: Path
    env: dict[str, str]
    process: subprocess.Popen[str]

    def cli(self, *args: str) -> str:
        return _provisioner(self.workdir, self.env, *args)

    def phone(self, role: str, mac: str) -> Host:
        host = self.lan.add(role)
        host.set_mac(mac)
        return host


def _provisioner(workdir: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "provisioner", *args], cwd=workdir, env=env,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def _dhcp_opt66(*args: str) -> list[str]:
    return [sys.executable, "-m", "dhcp_opt66", *args]


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    workdir = tmp_path_factory.mktemp("bench")
    env = {**os.environ, "PROVISIONER_DB": f"sqlite:///{workdir / 'inventory.db'}",
           "PROVISIONER_SECRET_KEY": TEST_KEY, "PYTHONUNBUFFERED": "1"}  # fmt: skip
    with lan() as net:
        srv = net.add("srv", f"{BENCH}/24")
        admin = net.add("admin", "10.204.1.10/24")  # below the leased range
        rogue = net.add("rogue", "10.204.1.2/24")
        log = (workdir / "serve.log").open("w")
        serve = srv.popen(sys.executable, "-m", "provisioner", "serve", "--demo", "--http", HTTP,
                          "--tftp", "127.0.0.1:6969", cwd=workdir, env=env, stdout=log,
                          stderr=subprocess.STDOUT)  # fmt: skip
        bench_process = None
        try:
            healthz = ("curl", "-sf", f"http://{HTTP}/healthz")
            assert wait_until(lambda: srv.run(*healthz).returncode == 0, 60, interval=0.2), (
                "provisioner serve is not answering"
            )
            token = _provisioner(workdir, env, "token", "create", "bench", "--role", "warehouse")
            bench_log = (workdir / "bench.log").open("w")
            bench_process = srv.popen(
                *_dhcp_opt66(), "bench", "--iface", "eth0", "--address", f"{BENCH}/24",
                "--provisioning-url", URL, "--pbx-core", "pbx.bench.test:5060",
                "--pbx-core-ip", "10.204.1.3", "--api-url", f"http://{HTTP}",
                "--grandstream-option160", "--state-dir", str(workdir / "state"),
                "--probe-timeout", "3",
                env={**env, "DHCP_OPT66_API_TOKEN": token.strip()}, stdout=bench_log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
            started = partial(file_contains, workdir / "bench.log", "dnsmasq started")
            assert wait_until(started, 30, interval=0.2), "the bench is not serving"
            yield Bench(net, srv, admin, rogue, workdir, env, bench_process)
        finally:
            if bench_process is not None:
                stop(bench_process)
            stop(serve)


def _udhcpc(host: Host, tmp: Path, *args: str) -> dict[str, str]:
    script = tmp / "udhcpc.sh"
    script.write_text(CLIENT_SCRIPT.format(out=tmp / "env"))
    script.chmod(0o755)
    done = host.run("udhcpc", "-i", host.iface, "-f", "-q", "-n", "-t", "5", "-T", "1",
                    "-s", str(script), *args, timeout=30)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return _env(tmp / "env.bound")


def _env(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def _dhclient(host: Host, tmp: Path, conf: str) -> dict[str, str]:
    (tmp / "dhclient.conf").write_text(conf)
    script = tmp / "dhclient.sh"
    script.write_text(ENV_SCRIPT.format(out=tmp / "env") + "exit 0\n")
    script.chmod(0o755)
    done = host.run("dhclient", "-4", "-1", "-cf", str(tmp / "dhclient.conf"), "-sf", str(script),
                    "-lf", str(tmp / "leases"), "-pf", str(tmp / "pid"), host.iface,
                    timeout=60)  # fmt: skip
    try:
        assert done.returncode == 0, done.stdout + done.stderr
        return _env(tmp / "env.BOUND")
    finally:
        if (tmp / "pid").exists():
            host.run("kill", (tmp / "pid").read_text().strip())


DHCLIENT = """option prov160 code 160 = text;
{send}
request subnet-mask, routers, domain-name-servers, ntp-servers, tftp-server-name, prov160;
"""


def test_udhcpc_grandstream_by_vendor_class_gets_its_options_and_a_timeline_event(
    bench: Bench, tmp_path: Path
) -> None:
    mac = _demo_mac("grandstream")
    phone = bench.phone("gs1", "02:00:00:00:00:21")  # not a Grandstream prefix: option 60 decides
    env = _udhcpc(phone, tmp_path, "-V", "Grandstream GXP2170 dslforum.org", "-O", "160",
                  "-O", "42", "-x", "hostname:gxp-bench")  # fmt: skip
    assert env["serverid"] == BENCH
    assert env["dns"].split() == [BENCH]
    assert env["ntpsrv"].split() == [BENCH]
    assert bytes.fromhex(env["opt160"]).decode() == URL.rstrip("/")

    phone.set_mac(mac)  # the inventory's demo Grandstream: its lease reaches the timeline
    leased = _udhcpc(phone, tmp_path, "-V", "Grandstream GXP2170 dslforum.org", "-x",
                     "hostname:gxp-bench")["ip"]  # fmt: skip
    line = f"add {leased} host=gxp-bench vendor=Grandstream_GXP2170_dslforum.org"
    on_timeline = lambda: line in bench.cli("device", "show", mac)  # noqa: E731
    assert wait_until(on_timeline, 20, interval=0.2), "no lease event on the timeline"


def test_udhcpc_panasonic_by_mac_prefix(bench: Bench, tmp_path: Path) -> None:
    phone = bench.phone("pana1", "00:80:f0:12:34:56")
    env = _udhcpc(phone, tmp_path, "-O", "160", "-O", "66")
    assert bytes.fromhex(env["opt160"]).decode() == URL.rstrip("/")
    assert "tftp" in env  # busybox checks 66 as a host name and shows a URL as "bad"


def test_dhclient_grandstream_by_mac_prefix(bench: Bench, tmp_path: Path) -> None:
    phone = bench.phone("gs2", "00:0b:82:65:43:21")
    env = _dhclient(phone, tmp_path, DHCLIENT.format(send=""))
    assert env["new_tftp_server_name"] == URL.rstrip("/")
    assert env["new_prov160"] == URL.rstrip("/")  # --grandstream-option160
    assert env["new_ntp_servers"] == BENCH
    assert env["new_domain_name_servers"] == BENCH
    assert env["new_dhcp_server_identifier"] == BENCH


def test_dhclient_panasonic_by_vendor_class(bench: Bench, tmp_path: Path) -> None:
    phone = bench.phone("pana2", "02:00:00:00:00:22")
    env = _dhclient(
        phone, tmp_path, DHCLIENT.format(send='send vendor-class-identifier "Panasonic_KX-HDV230";')
    )
    assert env["new_prov160"] == URL.rstrip("/")
    assert env["new_tftp_server_name"] == URL  # ends in "/": the phone fetches {MODEL}.cfg


def test_an_unknown_client_gets_an_address_but_no_provisioning(
    bench: Bench, tmp_path: Path
) -> None:
    phone = bench.phone("other", "02:00:00:00:00:23")
    env = _dhclient(phone, tmp_path, DHCLIENT.format(send=""))
    assert env["new_ip_address"].startswith("10.204.1.")
    assert "new_tftp_server_name" not in env
    assert "new_prov160" not in env


def _dig(host: Host, *args: str) -> str:
    done = host.run("dig", "+time=1", "+tries=1", *args, timeout=20)
    return done.stdout


def test_dig_resolves_the_bench_names_on_the_bench_only(bench: Bench) -> None:
    assert _dig(bench.admin, f"@{BENCH}", "prov.bench.test", "A", "+short").split() == [BENCH]
    assert _dig(bench.admin, f"@{BENCH}", "_sip._udp.bench.test", "SRV", "+short").strip() == (
        "10 100 5060 pbx.bench.test."
    )
    assert _dig(bench.admin, f"@{BENCH}", "pbx.bench.test", "+short").split() == ["10.204.1.3"]
    assert "NXDOMAIN" in _dig(bench.admin, f"@{BENCH}", "nothing.bench.test")
    assert "status: NOERROR" not in _dig(bench.admin, f"@{BENCH}", "example.com")  # no forwarding
    assert "connection refused" in _dig(bench.srv, "@127.0.0.1", "prov.bench.test").lower()


def test_probe_verdicts_against_the_bench(bench: Bench) -> None:
    def probe(*args: str) -> tuple[int, dict[str, object]]:
        done = bench.admin.run(*_dhcp_opt66(), "probe", "--iface", "eth0",
                               "--timeout", "3", "--json", *args, timeout=60)  # fmt: skip
        return done.returncode, json.loads(done.stdout)

    code, report = probe()
    assert (code, report["verdict"]) == (5, "option66_missing")
    code, report = probe("--vendor-class", "Grandstream GXP2170 dslforum.org", "--expect", URL)
    assert (code, report["verdict"]) == (0, "ok"), report
    assert report["dns"]["addresses"] == [BENCH]
    (offer,) = report["offers"]
    assert offer["options"]["tftp_server_name"] == URL.rstrip("/")
    assert offer["options"]["server_id"] == [BENCH]
    assert offer["options"]["router"] == [BENCH]
    code, report = probe(
        "--vendor-class", "Grandstream GXP2170", "--expect", "http://elsewhere.jp/"
    )
    assert (code, report["verdict"]) == (6, "option66_elsewhere")
    assert "elsewhere.jp" in str(report["message"])
    leases = (bench.workdir / "state" / "leases").read_text()
    assert leases  # the phones' leases are there
    assert bench.admin.mac() not in leases  # three probes, no lease taken


def test_a_second_bench_refuses_to_start_naming_the_server(bench: Bench, tmp_path: Path) -> None:
    done = bench.rogue.run(*_dhcp_opt66(), "bench", "--iface", "eth0",
                           "--address", "10.204.1.2/24", "--provisioning-url", URL,
                           "--state-dir", str(tmp_path), "--probe-timeout", "3", "--no-pnp",
                           "--api-url", "http://127.0.0.1:9", timeout=60,
                           env={**bench.env, "DHCP_OPT66_API_TOKEN": "secret-token"})  # fmt: skip
    assert done.returncode != 0
    assert f"another DHCP server answers on eth0: {BENCH}" in done.stderr
    assert not list(tmp_path.iterdir())  # nothing written, no token file left behind
    assert "secret-token" not in done.stdout + done.stderr


def _plain_dnsmasq(host: Host, tmp: Path, dhcp_range: str, *options: str) -> subprocess.Popen[str]:
    """Another DHCP server, DNS off: what a customer's router might be."""
    return host.popen(
        "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--port=0",
        f"--interface={host.iface}", "--bind-interfaces", f"--dhcp-range={dhcp_range}",
        f"--dhcp-leasefile={tmp / 'leases'}", f"--pid-file={tmp / 'pid'}", *options,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip


def test_probe_sees_two_servers(bench: Bench, tmp_path: Path) -> None:
    rogue = _plain_dnsmasq(bench.rogue, tmp_path, "10.204.1.200,10.204.1.220,1h", "--no-ping")
    try:
        time.sleep(0.5)
        probe = ("probe", "--iface", "eth0", "--timeout", "3", "--vendor-class", "Grandstream")
        done = bench.admin.run(*_dhcp_opt66(*probe), timeout=60)
        assert done.returncode == 4, done.stdout + done.stderr
        assert "2 DHCP servers answered (10.204.1.1, 10.204.1.2)" in done.stdout
        assert "the offer from 10.204.1.2 carries no option 66 or 160" in done.stdout
    finally:
        stop(rogue)


def test_probe_without_a_server_and_with_a_dns_that_fails(tmp_path: Path) -> None:
    with lan() as net:
        admin = net.add("admin", "10.204.2.50/24")
        probe = [*_dhcp_opt66(), "probe", "--iface", "eth0", "--timeout", "2", "--json"]
        done = admin.run(*probe, timeout=60)
        assert done.returncode == 3
        assert json.loads(done.stdout)["verdict"] == "no_server"
        server = net.add("dhcp", "10.204.2.1/24")
        # With its ping check: the first offer comes after about 3 s, and the probe waits 5.
        dnsmasq = _plain_dnsmasq(
            server, tmp_path, "10.204.2.100,10.204.2.120,1h",
            "--dhcp-option=66,http://prov.nowhere.test/", "--dhcp-option=6,10.204.2.1",
        )  # fmt: skip
        try:
            time.sleep(0.5)
            probe[probe.index("--timeout") + 1] = "5"
            done = admin.run(*probe, timeout=60)
            report = json.loads(done.stdout)
            assert (done.returncode, report["verdict"]) == (7, "dns_fails"), report
            assert "10.204.2.1 does not resolve prov.nowhere.test" in report["message"]
        finally:
            stop(dnsmasq)


PNP_PHONE = r"""
import json, socket, sys
me, vendor_event = sys.argv[1], sys.argv[2]
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((me, 5060))
sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(me))
sock.settimeout(5)
sock.sendto(b"\xff\xfe garbage, not SIP\r\n\r\n", ("224.0.1.75", 5060))
sock.sendto(b"SUBSCRIBE nope\r\n\r\n", ("224.0.1.75", 5060))
subscribe = (
    "SUBSCRIBE sip:MAC%3a0080f0aabbcc@224.0.1.75 SIP/2.0\r\n"
    f"Via: SIP/2.0/UDP {me}:5060;branch=z9hG4bK1\r\n"
    "From: <sip:MAC%3a0080f0aabbcc@224.0.1.75>;tag=phone1\r\n"
    "To: <sip:MAC%3a0080f0aabbcc@224.0.1.75>\r\n"
    "Call-ID: pnp-call-1\r\nCSeq: 1 SUBSCRIBE\r\n"
    f"Contact: <sip:{me}:5060>\r\n"
    f"Event: {vendor_event}\r\n"
    "Expires: 0\r\nAccept: application/url\r\nContent-Length: 0\r\n\r\n"
)
sock.sendto(subscribe.encode(), ("224.0.1.75", 5060))
got = []
while len(got) < 2:
    data, source = sock.recvfrom(8192)
    got.append(data.decode())
    if data.startswith(b"NOTIFY"):
        head = data.decode().split("\r\n\r\n")[0]
        via = next(l for l in head.split("\r\n") if l.startswith("Via:"))
        sock.sendto(f"SIP/2.0 200 OK\r\n{via}\r\nCall-ID: pnp-call-1\r\nCSeq: 1 NOTIFY\r\n"
                    "Content-Length: 0\r\n\r\n".encode(), source)
print(json.dumps(got))
"""


def test_pnp_subscribe_gets_200_and_a_notify_with_the_url(bench: Bench) -> None:
    event = 'ua-profile;profile-type="device";vendor="Panasonic";model="KX-HDV230";version="1"'
    done = bench.admin.run(sys.executable, "-c", PNP_PHONE, bench.admin.ip, event, timeout=30)
    assert done.returncode == 0, done.stderr
    ok, notify = json.loads(done.stdout)
    assert ok.startswith("SIP/2.0 200 OK\r\n")
    assert "Call-ID: pnp-call-1" in ok
    assert ";tag=" in ok.split("To:", 1)[1].split("\r\n", 1)[0]
    head, body = notify.split("\r\n\r\n", 1)
    assert head.startswith(f"NOTIFY sip:{bench.admin.ip}:5060 SIP/2.0")
    assert "Content-Type: application/url" in head
    assert "Event: ua-profile" in head
    assert body == "http://prov.bench.test:8080/KX-HDV230.cfg"
    log = (bench.workdir / "bench.log").read_text()
    assert "dropped a malformed message" in log
    assert bench.process.poll() is None  # malformed SIP never stops the bench


def _dnsmasq_pid(bench: Bench) -> int | None:
    pid_file = bench.workdir / "state" / "dnsmasq.pid"
    if not pid_file.exists() or not pid_file.read_text().strip():
        return None
    pid = int(pid_file.read_text())
    return pid if Path(f"/proc/{pid}").exists() else None


def test_a_dead_dnsmasq_is_restarted(bench: Bench) -> None:
    first = _dnsmasq_pid(bench)
    assert first is not None
    os.kill(first, signal.SIGKILL)
    restarted = lambda: _dnsmasq_pid(bench) not in (None, first)  # noqa: E731
    assert wait_until(restarted, 20, interval=0.2), "dnsmasq was not restarted"
    assert _dig(bench.admin, f"@{BENCH}", "prov.bench.test", "+short").split() == [BENCH]
    assert "restarting in" in (bench.workdir / "bench.log").read_text()


def test_sigterm_stops_the_bench_and_its_dnsmasq(bench: Bench) -> None:
    """Last in this module: the bench is gone afterwards."""
    running = _dnsmasq_pid(bench)
    assert running is not None
    bench.process.send_signal(signal.SIGTERM)
    assert bench.process.wait(15) == 0
    assert not Path(f"/proc/{running}").exists()
    assert "exiting on receipt of SIGTERM" in (bench.workdir / "bench.log").read_text()
